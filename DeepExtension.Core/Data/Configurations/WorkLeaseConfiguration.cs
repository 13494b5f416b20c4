using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class WorkLeaseConfiguration : IEntityTypeConfiguration<WorkLease>
{
    public void Configure(EntityTypeBuilder<WorkLease> builder)
    {
        builder.ToTable("WorkLeases");
        // One lease per item; kinds share the table, as ids are unique only within a kind's own table.
        builder.HasKey(l => new { l.Kind, l.ItemId });
        builder.Property(l => l.Kind).HasConversion<string>().HasMaxLength(32);
        builder.Property(l => l.Owner).HasMaxLength(200).IsRequired();
    }
}

using DeepExtension.Core.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("AuditEntries");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).ValueGeneratedOnAdd();
        builder.Property(e => e.Actor).HasMaxLength(AuditEntry.ActorMaxLength).IsRequired();
        builder.Property(e => e.Action).HasMaxLength(32).IsRequired();
        builder.Property(e => e.ObjectKind).HasMaxLength(32).IsRequired();
        builder.Property(e => e.ObjectId).HasMaxLength(64);
        builder.Property(e => e.ObjectName).HasMaxLength(AuditEntry.NameMaxLength);
        builder.Property(e => e.Detail).HasMaxLength(AuditEntry.DetailMaxLength);
        builder.HasIndex(e => e.AtUtc);
        builder.HasIndex(e => e.Actor);
        builder.HasIndex(e => new { e.ObjectKind, e.ObjectId });
    }
}

using DeepExtension.Core.Arena;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class ArenaVoteConfiguration : IEntityTypeConfiguration<ArenaVote>
{
    public void Configure(EntityTypeBuilder<ArenaVote> builder)
    {
        // No foreign keys to the deployments on purpose: votes outlive a removed deployment (the names are kept).
        builder.ToTable("ArenaVotes");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.Id).ValueGeneratedNever();
        builder.Property(v => v.ModelAName).HasMaxLength(ArenaVote.NameMaxLength).IsRequired();
        builder.Property(v => v.ModelBName).HasMaxLength(ArenaVote.NameMaxLength).IsRequired();
        builder.Property(v => v.Prompt).IsRequired();
        builder.Property(v => v.AnswerA).IsRequired();
        builder.Property(v => v.AnswerB).IsRequired();
        builder.Property(v => v.Verdict).HasConversion<string>().HasMaxLength(16);
        builder.HasIndex(v => new { v.ModelAId, v.ModelBId });
        builder.HasIndex(v => v.CreatedAtUtc);
    }
}

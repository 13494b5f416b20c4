using DeepExtension.Core.Datasets;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> builder)
    {
        builder.ToTable("Datasets");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Name).HasMaxLength(Dataset.NameMaxLength).IsRequired();
        builder.Property(d => d.NameKey).HasMaxLength(Dataset.NameMaxLength).IsRequired();
        builder.HasIndex(d => d.NameKey).IsUnique();
        builder.Property(d => d.Description).HasMaxLength(Dataset.DescriptionMaxLength);
        builder.Ignore(d => d.LatestVersion);
        builder.HasMany(d => d.Versions).WithOne().HasForeignKey(v => v.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DatasetVersionConfiguration : IEntityTypeConfiguration<DatasetVersion>
{
    public void Configure(EntityTypeBuilder<DatasetVersion> builder)
    {
        builder.ToTable("DatasetVersions");
        builder.HasKey(v => v.Id);
        builder.HasIndex(v => new { v.DatasetId, v.VersionNumber }).IsUnique();
        builder.Property(v => v.ContentSha256).HasMaxLength(64).IsFixedLength().IsUnicode(false).IsRequired();
        builder.Property(v => v.OriginalFileName).HasMaxLength(260).IsRequired();
        builder.Property(v => v.StoredPath).HasMaxLength(400).IsRequired();
        builder.Property(v => v.FileType).HasConversion<string>().HasMaxLength(10);
        builder.Property(v => v.Format).HasConversion<string>().HasMaxLength(20);
        builder.Property(v => v.ValidationOriginalFileName).HasMaxLength(260);
        builder.Property(v => v.ValidationSha256).HasMaxLength(64).IsFixedLength().IsUnicode(false);
        builder.Property(v => v.ValidationStoredPath).HasMaxLength(400);
        builder.ToTable(t => t.HasCheckConstraint("CK_DatasetVersions_ValidationPercent", "\"ValidationPercent\" >= 0 AND \"ValidationPercent\" <= 50"));
        builder.Ignore(v => v.Kind);
        builder.Ignore(v => v.HasValidationFile);
        builder.Ignore(v => v.ShortHash);
        builder.Ignore(v => v.SplitDisplay);
    }
}

using System.Text.Json;
using DeepExtension.Core.HubDownloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class HubDownloadConfiguration : IEntityTypeConfiguration<HubDownload>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public void Configure(EntityTypeBuilder<HubDownload> builder)
    {
        // No foreign key to the base model it registers: the download's entry outlives a removed registration.
        builder.ToTable("HubDownloads");
        builder.ConfigureWork(failureReasonMaxLength: 2000);
        builder.Property(d => d.Repository).HasMaxLength(HubDownloadService.RepositoryMaxLength).IsRequired();
        builder.Property(d => d.Revision).HasMaxLength(200).IsRequired();
        builder.Property(d => d.Commit).HasMaxLength(64).IsRequired();
        builder.Property(d => d.TargetPath).HasMaxLength(400).IsRequired();
        builder.Property(d => d.TechnicalName).HasMaxLength(BaseModels.TechnicalName.MaxLength).IsRequired();
        builder.Property(d => d.ModelName).HasMaxLength(200).IsRequired();
        builder.Property(d => d.Architecture).HasMaxLength(100).IsRequired();
        builder.Property(d => d.ProtectedToken).HasMaxLength(4000);
        builder.Property(d => d.Stage).HasMaxLength(400);
        builder.Ignore(d => d.SecondsLeft);
        builder.Ignore(d => d.Fraction);
        // The plan's file list, written once when the download is queued.
        builder.Property(d => d.Files)
            .HasConversion(
                files => JsonSerializer.Serialize(files, Json),
                json => JsonSerializer.Deserialize<List<HubFile>>(json, Json) ?? new List<HubFile>(),
                new ValueComparer<IReadOnlyList<HubFile>>(
                    (a, b) => a!.SequenceEqual(b!),
                    files => files.Aggregate(0, (hash, f) => HashCode.Combine(hash, f.GetHashCode())),
                    files => files.ToList()))
            .HasColumnName("FilesJson")
            .IsRequired();
        builder.HasIndex(d => d.Status);
    }
}

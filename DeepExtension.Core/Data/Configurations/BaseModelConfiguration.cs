using System.Text.Json;
using DeepExtension.Core.BaseModels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class BaseModelConfiguration : IEntityTypeConfiguration<BaseModel>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public void Configure(EntityTypeBuilder<BaseModel> builder)
    {
        builder.ToTable("BaseModels");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.TechnicalName).HasMaxLength(TechnicalName.MaxLength).IsRequired();
        builder.Property(m => m.TechnicalNameKey).HasMaxLength(TechnicalName.MaxLength).IsRequired();
        builder.HasIndex(m => m.TechnicalNameKey).IsUnique();
        builder.Property(m => m.ModelName).HasMaxLength(200).IsRequired();
        builder.Property(m => m.ModelNameKey).HasMaxLength(200).IsRequired();
        builder.HasIndex(m => m.ModelNameKey).IsUnique();
        builder.Property(m => m.RelativePath).HasMaxLength(400).IsRequired();
        builder.Property(m => m.DeploymentTemplate);
        builder.Property(m => m.SourceRepository).HasMaxLength(HubDownloads.HubDownloadService.RepositoryMaxLength);
        builder.Property(m => m.SourceCommit).HasMaxLength(64);

        // The card is a read-only snapshot of the folder; one JSON column keeps it whole.
        builder.Property(m => m.Card)
            .HasConversion(
                card => JsonSerializer.Serialize(card, Json),
                json => JsonSerializer.Deserialize<ModelCard>(json, Json)!,
                new ValueComparer<ModelCard>(
                    (a, b) => JsonSerializer.Serialize(a, Json) == JsonSerializer.Serialize(b, Json),
                    card => JsonSerializer.Serialize(card, Json).GetHashCode(StringComparison.Ordinal),
                    card => JsonSerializer.Deserialize<ModelCard>(JsonSerializer.Serialize(card, Json), Json)!))
            .HasColumnName("ModelCard")
            .IsRequired();
    }
}

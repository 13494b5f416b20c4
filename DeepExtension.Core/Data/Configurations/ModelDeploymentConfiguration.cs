using DeepExtension.Core.Deployment;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class ModelDeploymentConfiguration : IEntityTypeConfiguration<ModelDeployment>
{
    public void Configure(EntityTypeBuilder<ModelDeployment> builder)
    {
        // No foreign keys on purpose: the seeds keep deployments when their source model is deleted,
        // and a deployment stays removable after its environment entry is gone.
        builder.ToTable("ModelDeployments");
        builder.ConfigureWork(failureReasonMaxLength: 2000);
        builder.Property(d => d.OllamaModel).HasMaxLength(200).IsRequired();
        builder.Property(d => d.SourceKind).HasConversion<string>().HasMaxLength(16);
        builder.Property(d => d.SourceModelName).HasMaxLength(220).IsRequired();
        builder.Property(d => d.BaseModelName).HasMaxLength(200).IsRequired();
        builder.Property(d => d.EnvironmentName).HasMaxLength(100).IsRequired();
        builder.Property(d => d.BaseUrl).HasMaxLength(400).IsRequired();
        builder.Property(d => d.Quantization).HasMaxLength(32).IsRequired();
        builder.Property(d => d.SystemPrompt).HasMaxLength(8000);
        builder.Property(d => d.Stage).HasMaxLength(400);
        builder.HasIndex(d => new { d.EnvironmentId, d.OllamaModel });
    }
}

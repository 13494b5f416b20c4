using DeepExtension.Core.Deployment;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class DeploymentEnvironmentConfiguration : IEntityTypeConfiguration<DeploymentEnvironment>
{
    public void Configure(EntityTypeBuilder<DeploymentEnvironment> builder)
    {
        builder.ToTable("DeploymentEnvironments");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Name).HasMaxLength(100).IsRequired();
        builder.Property(e => e.NameKey).HasMaxLength(100).IsRequired();
        builder.HasIndex(e => e.NameKey).IsUnique();
        builder.Property(e => e.BaseUrl).HasMaxLength(500).IsRequired();
    }
}

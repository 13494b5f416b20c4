using DeepExtension.Core.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class WorkerNodeConfiguration : IEntityTypeConfiguration<WorkerNode>
{
    public void Configure(EntityTypeBuilder<WorkerNode> builder)
    {
        builder.ToTable("WorkerNodes");
        builder.HasKey(n => n.Id);
        // Quartz's instance ids: host name plus a tick count, within its own 200-character column.
        builder.Property(n => n.Id).HasMaxLength(200);
        builder.Property(n => n.Name).HasMaxLength(200).IsRequired();
        builder.Property(n => n.Host).HasMaxLength(200).IsRequired();
        builder.Property(n => n.Version).HasMaxLength(64).IsRequired();
        builder.Property(n => n.DevicesError).HasMaxLength(1000);
        builder.Property(n => n.DeviceKinds).HasMaxLength(1000).IsRequired();
        builder.Ignore(n => n.OfferedDevices);
        // A run id is 36 characters: room for far more runs than a node has slots.
        builder.Property(n => n.RunningRunIds).HasMaxLength(4000).IsRequired();
        builder.Ignore(n => n.RunningRuns);
        builder.HasIndex(n => n.LastHeartbeatAtUtc);
    }
}

internal sealed class InstallationConfiguration : IEntityTypeConfiguration<Installation>
{
    public void Configure(EntityTypeBuilder<Installation> builder)
    {
        builder.ToTable("Installation");
        builder.HasKey(i => i.Id);
        builder.Property(i => i.Id).ValueGeneratedNever();
    }
}

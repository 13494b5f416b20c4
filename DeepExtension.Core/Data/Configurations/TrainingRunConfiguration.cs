using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class TrainingRunConfiguration : IEntityTypeConfiguration<TrainingRun>
{
    public void Configure(EntityTypeBuilder<TrainingRun> builder)
    {
        builder.ToTable("TrainingRuns");
        builder.ConfigureWork(failureReasonMaxLength: 4000);
        builder.Property(r => r.Name).HasMaxLength(64).IsRequired();
        builder.Property(r => r.BaseModelTechnicalName).HasMaxLength(TechnicalName.MaxLength).IsRequired();
        builder.Property(r => r.MethodName).HasMaxLength(100).IsRequired();
        builder.Property(r => r.Algorithm).HasConversion<string>().HasMaxLength(16);
        builder.Property(r => r.Device).HasMaxLength(16);
        // A node's id is its Quartz scheduler instance id (see WorkerNodeConfiguration).
        builder.Property(r => r.NodeId).HasMaxLength(200);
        builder.Property(r => r.NodeName).HasMaxLength(200);
        builder.Property(r => r.DeviceUsed).HasMaxLength(16);
        builder.Property(r => r.ParametersJson).IsRequired();
        builder.Ignore(r => r.Parameters);
        builder.Ignore(r => r.TrainingParameters);
        builder.HasIndex(r => r.Status);
        builder.HasIndex(r => r.CreatedAtUtc);

        // Runs keep what they were trained from: the referenced rows cannot be deleted underneath them.
        builder.HasOne<BaseModel>().WithMany().HasForeignKey(r => r.BaseModelId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<DatasetVersion>().WithMany().HasForeignKey(r => r.DatasetVersionId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<TrainingMethod>().WithMany().HasForeignKey(r => r.MethodId).OnDelete(DeleteBehavior.Restrict);
    }
}

using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class CustomizedModelConfiguration : IEntityTypeConfiguration<CustomizedModel>
{
    public void Configure(EntityTypeBuilder<CustomizedModel> builder)
    {
        builder.ToTable("CustomizedModels");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Name).HasMaxLength(200).IsRequired();
        builder.HasIndex(m => m.Name).IsUnique();
        builder.Property(m => m.TrainName).HasMaxLength(64).IsRequired();
        builder.Property(m => m.AdapterPath).HasMaxLength(400).IsRequired();
        builder.Property(m => m.CardJson).IsRequired();
        builder.Ignore(m => m.TrainingCard);
        builder.HasIndex(m => m.TrainingRunId).IsUnique();
        builder.HasOne<BaseModel>().WithMany().HasForeignKey(m => m.BaseModelId).OnDelete(DeleteBehavior.Restrict);
        // No foreign key to its train: a customized model outlives a deleted train (its card keeps the train's lineage).
    }
}

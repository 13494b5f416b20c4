using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class CompleteModelConfiguration : IEntityTypeConfiguration<CompleteModel>
{
    public void Configure(EntityTypeBuilder<CompleteModel> builder)
    {
        builder.ToTable("CompleteModels");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Name).HasMaxLength(220).IsRequired();
        builder.HasIndex(m => m.Name).IsUnique();
        builder.Property(m => m.CustomizedModelName).HasMaxLength(200).IsRequired();
        builder.Property(m => m.Path).HasMaxLength(400).IsRequired();
        builder.Property(m => m.CardJson).IsRequired();
        builder.Ignore(m => m.TrainingCard);
        builder.HasIndex(m => m.SaveId).IsUnique();
        // A complete model is standalone: deleting its customized model keeps it (the link becomes null).
        builder.HasOne<CustomizedModel>().WithMany().HasForeignKey(m => m.CustomizedModelId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class ModelSaveConfiguration : IEntityTypeConfiguration<ModelSave>
{
    public void Configure(EntityTypeBuilder<ModelSave> builder)
    {
        builder.ToTable("ModelSaves");
        builder.ConfigureWork(failureReasonMaxLength: 2000);
        builder.Property(s => s.OutputName).HasMaxLength(220).IsRequired();
        builder.HasIndex(s => s.CustomizedModelId);
        // Finished saves are history of their customized model and go with it; running ones block its deletion.
        builder.HasOne<CustomizedModel>().WithMany().HasForeignKey(s => s.CustomizedModelId).OnDelete(DeleteBehavior.Cascade);
    }
}

using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class EvaluationConfiguration : IEntityTypeConfiguration<Evaluation>
{
    public void Configure(EntityTypeBuilder<Evaluation> builder)
    {
        builder.ToTable("Evaluations");
        builder.ConfigureWork(failureReasonMaxLength: 2000);
        builder.Property(e => e.Name).HasMaxLength(200).IsRequired();
        builder.Property(e => e.Part).HasConversion<string>().HasMaxLength(16);
        builder.Property(e => e.ModelsJson).IsRequired();
        builder.Property(e => e.JudgePrompt).HasMaxLength(8000);
        builder.Ignore(e => e.Models);
        builder.Ignore(e => e.Aggregates);
        builder.Ignore(e => e.Samples);
        builder.HasIndex(e => e.RunId);
        builder.HasIndex(e => e.CreatedAtUtc);
        // Evaluated models, the train and the judge may be deleted while their evaluations stay (the names are in ModelsJson and
        // the results file): no keys to them. An evaluation means nothing without its base model or dataset version: it goes with them.
        builder.HasOne<BaseModel>().WithMany().HasForeignKey(e => e.BaseModelId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<DatasetVersion>().WithMany().HasForeignKey(e => e.DatasetVersionId).OnDelete(DeleteBehavior.Cascade);
    }
}

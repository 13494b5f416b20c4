using DeepExtension.Core.Training;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class TrainingMethodConfiguration : IEntityTypeConfiguration<TrainingMethod>
{
    /// <summary>Fixed ids: runs refer to the built-in methods across installations.</summary>
    public static readonly Guid SftId = new("5f1a0000-0000-4000-8000-000000000001");
    public static readonly Guid DpoId = new("5f1a0000-0000-4000-8000-000000000002");
    public static readonly Guid GrpoId = new("5f1a0000-0000-4000-8000-000000000003");
    public static readonly Guid PpoId = new("5f1a0000-0000-4000-8000-000000000004");

    public void Configure(EntityTypeBuilder<TrainingMethod> builder)
    {
        builder.ToTable("TrainingMethods");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Name).HasMaxLength(100).IsRequired();
        builder.Property(m => m.NameKey).HasMaxLength(100).IsRequired();
        builder.HasIndex(m => m.NameKey).IsUnique();
        builder.Property(m => m.Algorithm).HasConversion<string>().HasMaxLength(16);
        builder.Property(m => m.Description).HasMaxLength(2000);
        builder.Property(m => m.DefaultsJson).IsRequired();
        builder.Ignore(m => m.Defaults);
        builder.Ignore(m => m.Definition);

        var seeded = new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc);
        builder.HasData(
            BuiltIn(SftId, TrainingAlgorithm.Sft, "SFT (LoRA)", seeded),
            BuiltIn(DpoId, TrainingAlgorithm.Dpo, "DPO", seeded),
            BuiltIn(GrpoId, TrainingAlgorithm.Grpo, "GRPO", seeded),
            BuiltIn(PpoId, TrainingAlgorithm.Ppo, "PPO", seeded));
    }

    /// <summary>Built-in methods whose seeded description differs from the algorithm's current one: seed data is part of
    /// the migrations, so it stays as first shipped (the PPO row's text predates reward functions).</summary>
    private static readonly Dictionary<TrainingAlgorithm, string> SeededDescriptions = new()
    {
        [TrainingAlgorithm.Ppo] = "Proximal Policy Optimization as TRL does it: a learned value head, a KL penalty to the base model, and the reward functions of GRPO scoring sampled completions.",
    };

    private static TrainingMethod BuiltIn(Guid id, TrainingAlgorithm algorithm, string name, DateTime at) => new()
    {
        Id = id,
        Name = name,
        NameKey = TrainingMethod.KeyOf(name),
        Algorithm = algorithm,
        Description = SeededDescriptions.GetValueOrDefault(algorithm) ?? AlgorithmCatalog.Get(algorithm).Description,
        IsBuiltIn = true,
        DefaultsJson = "{}",
        CreatedAtUtc = at,
        UpdatedAtUtc = at,
    };
}

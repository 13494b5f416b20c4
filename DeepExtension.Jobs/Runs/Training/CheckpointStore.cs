using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Training;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// A run's resumable checkpoints, <c>checkpoints/step-NNNNNNNN/</c> (see <see cref="TrainingCheckpoint"/>): written
/// under a <c>.partial</c> name and renamed when complete, so a crash never leaves a half checkpoint that looks whole;
/// only the last <see cref="Kept"/> are kept.
/// </summary>
public sealed class CheckpointStore(string directory, string baseModelNameOrPath)
{
    public const int Kept = 3;
    private const string Prefix = "step-";

    /// <summary>The newest complete checkpoint folder, or null when the run has none.</summary>
    public string? Latest() => Complete().LastOrDefault();

    /// <summary>The adapter, optimizer and trainer state of <paramref name="checkpoint"/>, on a freshly loaded base <paramref name="model"/>.</summary>
    public static (LoraModel Lora, AdamWOptimizer Optimizer, TrainerState State) Load(string checkpoint, ForCausalLM model, AdamWOptions options,
        IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)>? extraParameters = null) =>
        TrainingCheckpoint.Load(checkpoint, model, options, extraParameters);

    /// <summary>Writes the checkpoint of <paramref name="step"/> and drops the oldest beyond <see cref="Kept"/>. False when
    /// that step's checkpoint exists already (a run interrupted right after saving). <paramref name="writeExtra"/> adds the
    /// objective's own files (PPO's value head) to the folder before it is complete.</summary>
    public bool Save(LoraModel lora, AdamWOptimizer optimizer, long step, int epoch, Action<string>? writeExtra = null)
    {
        var folder = Path.Combine(directory, $"{Prefix}{step:D8}");
        if (Directory.Exists(folder)) return false;
        var partial = folder + ".partial";
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        TrainingCheckpoint.Save(partial, lora, optimizer, new TrainerState(step, epoch, 0, optimizer.LearningRate), baseModelNameOrPath);
        writeExtra?.Invoke(partial);
        Directory.Move(partial, folder);
        foreach (var old in Complete().SkipLast(Kept)) Directory.Delete(old, recursive: true);
        return true;
    }

    // Zero-padded step numbers: ordinal order is step order.
    private IEnumerable<string> Complete() =>
        Directory.Exists(directory)
            ? Directory.GetDirectories(directory, Prefix + "*")
                .Where(d => !d.EndsWith(".partial", StringComparison.Ordinal) && File.Exists(Path.Combine(d, TrainingCheckpoint.StateFile)))
                .Order(StringComparer.Ordinal)
            : [];
}

using System.Text.Json;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>Host-side trainer state saved beside a checkpoint (<c>trainer_state.json</c>).</summary>
public sealed record TrainerState(long GlobalStep, long Epoch, long ExamplesSeen, double LearningRate);

/// <summary>
/// A resumable training checkpoint folder: the adapter in PEFT's format (<c>adapter_config.json</c>,
/// <c>adapter_model.safetensors</c>: usable as is), <c>optimizer.safetensors</c> (AdamW moments, step, lr) and
/// <c>trainer_state.json</c>.
/// </summary>
public static class TrainingCheckpoint
{
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "trainer_state.json";

    public static void Save(string directory, LoraModel lora, AdamWOptimizer optimizer, TrainerState state, string baseModelNameOrPath)
    {
        Directory.CreateDirectory(directory);
        PeftAdapter.Save(lora, directory, baseModelNameOrPath);
        optimizer.Save(Path.Combine(directory, OptimizerFile));
        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Wraps <paramref name="model"/> (freshly loaded base) with the checkpoint's adapter and restores the optimizer.
    /// The returned optimizer is the caller's to dispose. <paramref name="extraParameters"/> (PPO's value head, restored by
    /// the caller) are optimised after the adapter's, as when the checkpoint was written.</summary>
    public static (LoraModel Lora, AdamWOptimizer Optimizer, TrainerState State) Load(string directory, ForCausalLM model, AdamWOptions options,
        IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)>? extraParameters = null)
    {
        var lora = PeftAdapter.Load(model, directory);
        var optimizer = new AdamWOptimizer([.. lora.TrainableParameters, .. extraParameters ?? []], options);
        optimizer.Load(Path.Combine(directory, OptimizerFile));
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(directory, StateFile)))
                    ?? throw new InvalidDataException($"{StateFile} in {directory} is empty");
        return (lora, optimizer, state);
    }
}

using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>The engine's view of the typed <see cref="TrainingParameters"/>: what only the engine's types can say.</summary>
public static class TrainingParametersEngine
{
    extension(TrainingParameters parameters)
    {
        /// <summary>The adapter's configuration in the engine's (PEFT's) terms.</summary>
        public LoraConfig Lora => new(parameters.LoraR, parameters.LoraAlpha, parameters.LoraDropout, parameters.TargetModules, parameters.UseRslora);
    }
}

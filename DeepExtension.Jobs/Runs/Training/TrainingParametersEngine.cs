using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>The engine's view of the typed <see cref="TrainingParameters"/>: what only the engine's types can say.</summary>
public static class TrainingParametersEngine
{
    extension(TrainingParameters parameters)
    {
        /// <summary>The adapter's configuration in the engine's (PEFT's) terms.</summary>
        public LoraConfig Lora => new(parameters.LoraR, parameters.LoraAlpha, parameters.LoraDropout, parameters.TargetModules, parameters.UseRslora);

        /// <summary>What the decoder keeps of its layers' activations.</summary>
        public ActivationCheckpointing ActivationCheckpointing => ParseCheckpointing(parameters.GradientCheckpointing);
    }

    /// <summary>A <c>gradient_checkpointing</c> value (<see cref="TrainingParameters.Checkpointing"/>) in the engine's terms.</summary>
    public static ActivationCheckpointing ParseCheckpointing(string value) => value switch
    {
        TrainingParameters.Checkpointing.Layer => ActivationCheckpointing.Layer,
        TrainingParameters.Checkpointing.Offload => ActivationCheckpointing.Offload,
        _ => ActivationCheckpointing.Off,
    };
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>Layer factories that allocate uninitialised weights (they are loaded from a checkpoint right after).</summary>
public static class Layers
{
    public static Linear Linear(long inFeatures, long outFeatures, bool bias, ScalarType dtype, Device device) =>
        nn.Linear(
            new Parameter(torch.empty([outFeatures, inFeatures], dtype, device)),
            bias ? new Parameter(torch.zeros([outFeatures], dtype, device)) : null);
}

using DeepExtension.Core.Runs;
using DeepExtension.Jobs.Engine.Runtime;
using TorchSharp;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// GPU memory in use per logged step, for runs on a GPU: TorchSharp 0.107 has no memory statistics, so it is read
/// from the driver (NVML) for the run's device, all processes included, as nvidia-smi shows it.
/// </summary>
public static class GpuMemoryMetric
{
    const double BytesPerGib = 1024.0 * 1024 * 1024;

    /// <summary>Adds <see cref="MetricPoint.Keys.GpuMemoryGib"/> to a step's values when it trained on a GPU NVML can read.</summary>
    public static void AddTo(IDictionary<string, double> values, torch.Device device)
    {
        if (device.type != DeviceType.CUDA) return;
        if (NvidiaGpus.UsedBytes(Math.Max(0, device.index)) is { } used) values[MetricPoint.Keys.GpuMemoryGib] = Math.Round(used / BytesPerGib, 3);
    }
}

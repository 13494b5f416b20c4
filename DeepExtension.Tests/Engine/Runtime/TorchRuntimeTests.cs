using DeepExtension.Jobs.Engine.Runtime;
using TorchSharp;

namespace DeepExtension.Tests.Engine.Runtime;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class TorchRuntimeTests
{
    [Fact]
    public void EnsureInitialized_ThenTensorMath_Works()
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.EnsureInitialized(); // idempotent

        using var scope = torch.NewDisposeScope();
        var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        var b = torch.ones(3, 2, dtype: torch.float32);
        var c = a.matmul(b);

        Assert.Equal(new long[] { 2, 2 }, c.shape);
        Assert.Equal(new float[] { 3, 3, 12, 12 }, c.data<float>().ToArray());
        Assert.StartsWith("2.", torch.__version__);
    }

    [Fact]
    public void DefaultDevice_IsCudaOnlyWhenAvailable()
    {
        var device = TorchRuntime.DefaultDevice;
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
    }

    [Fact]
    public void DeviceFor_CudaWithTheCpuLibTorch_SaysItIsACpuBuildAndWhatToSet()
    {
        if (torch.cuda.is_available()) return; // A GPU machine: there cuda is the right answer.

        var error = Assert.Throws<LibTorchException>(() => TorchRuntime.DeviceFor("cuda"));

        Assert.StartsWith("The run asks for cuda, but the worker loaded a CPU build of libtorch", error.Message);
        Assert.Contains("Set DeepExtension:Training:LibTorchDirectory to the lib folder of a CUDA build of PyTorch", error.Message);
    }

    [Fact]
    public void DeviceFor_CpuAutoAndUnknown_AnswerOrRefuse()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.DeviceFor("cpu").type);
        Assert.Equal(TorchRuntime.DefaultDevice.type, TorchRuntime.DeviceFor("auto").type);
        Assert.Throws<ArgumentException>(() => TorchRuntime.DeviceFor("gpu"));
        Assert.True(TorchRuntime.TryParseCuda("cuda:3", out var index) && index == 3);
        Assert.False(TorchRuntime.TryParseCuda("cuda:x", out _));
    }
}

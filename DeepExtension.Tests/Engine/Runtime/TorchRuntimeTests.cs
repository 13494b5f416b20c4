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
}

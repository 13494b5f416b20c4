using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Lora;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class LoraLinearTests
{
    [Fact]
    public void Initialisation_IsPeft_AndTheDeltaStartsAtZero()
    {
        using var scope = torch.NewDisposeScope();
        var linear = Layers.Linear(48, 20, bias: true, ScalarType.Float32, CPU);
        using (torch.no_grad()) { linear.weight!.normal_(); linear.bias!.normal_(); }
        var lora = new LoraLinear(linear, 4, 2.0, 0.0, new Generator(7));
        Assert.Equal([4L, 48L], lora.lora_A.weight!.shape);
        Assert.Equal([20L, 4L], lora.lora_B.weight!.shape);
        Assert.Equal(0f, lora.lora_B.weight!.abs().max().item<float>());
        float bound = (float)(1 / Math.Sqrt(48));
        Assert.True(lora.lora_A.weight!.abs().max().item<float>() <= bound);
        Assert.True(lora.lora_A.weight!.abs().max().item<float>() > 0.8f * bound);
        var x = torch.randn(3, 5, 48);
        using var noGrad = torch.no_grad();
        TensorAssert.Identical(linear.forward(x), lora.forward(x));
        Assert.Equal(new LoraLinear(Layers.Linear(48, 20, false, ScalarType.Float32, CPU), 4, 2, 0, new Generator(7)).lora_A.weight!.data<float>().ToArray(),
                     lora.lora_A.weight!.data<float>().ToArray());
    }

    [Fact]
    public void Bfloat16Base_KeepsFloat32Adapter_AndOutputDtype()
    {
        using var scope = torch.NewDisposeScope();
        var linear = Layers.Linear(32, 16, bias: false, ScalarType.BFloat16, CPU);
        using (torch.no_grad()) linear.weight!.normal_();
        var lora = new LoraLinear(linear, 8, 16.0 / 8, 0.0);
        using (torch.no_grad()) lora.lora_B.weight!.normal_();
        Assert.Equal(ScalarType.Float32, lora.lora_A.weight!.dtype);
        Assert.Equal(ScalarType.Float32, lora.lora_B.weight!.dtype);
        var x = torch.randn(2, 32).to(ScalarType.BFloat16);
        var y = lora.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        using var noGrad = torch.no_grad();
        var expected = linear.forward(x).to(ScalarType.Float32) + x.to(ScalarType.Float32).matmul(lora.DeltaWeight().t());
        Assert.True(TensorAssert.MaxAbsDiff(expected, y.to(ScalarType.Float32)) < 0.1);
        lora.Merge();
        lora.Merge();
        Assert.True(TensorAssert.MaxAbsDiff(expected, lora.forward(x).to(ScalarType.Float32)) < 0.2);
    }

    [Fact]
    public void Dropout_AppliesToTheAdapterInputInTrainModeOnly_AndRsLoraScales()
    {
        using var scope = torch.NewDisposeScope();
        var linear = Layers.Linear(64, 64, bias: false, ScalarType.Float32, CPU);
        using (torch.no_grad()) linear.weight!.zero_();
        var lora = new LoraLinear(linear, 4, 1.0, 0.5);
        using (torch.no_grad()) lora.lora_B.weight!.fill_(1f);
        var x = torch.ones(1, 64);
        using var noGrad = torch.no_grad();
        lora.eval();
        var evalOut = lora.forward(x);
        TensorAssert.Identical(evalOut, lora.forward(x));
        lora.train();
        Assert.True(TensorAssert.MaxAbsDiff(evalOut, lora.forward(x)) > 1e-3);
        lora.Enabled = false;
        Assert.Equal(0f, lora.forward(x).abs().max().item<float>());

        Assert.Equal(2.0, new LoraConfig(8, 16, 0, ["q_proj"]).Scaling);
        Assert.Equal(16 / Math.Sqrt(8), new LoraConfig(8, 16, 0, ["q_proj"], UseRsLora: true).Scaling, 12);
        Assert.Equal(LoraConfig.AllProjections, new LoraConfig(8, 16, 0, ["all-linear"]).ResolvedTargets());
    }
}

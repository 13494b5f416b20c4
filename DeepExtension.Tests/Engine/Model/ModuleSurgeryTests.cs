using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

/// <summary>What LoRA will do: wrap projections in place and see the names and the forward pass follow.</summary>
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class ModuleSurgeryTests
{
    /// <summary>A PEFT-shaped wrapper: base_layer plus a trainable low-rank delta (B starts at zero).</summary>
    sealed class LowRank : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> base_layer;
        public Linear lora_A;
        public Linear lora_B;

        public LowRank(Linear baseLayer, long rank) : base(nameof(LowRank))
        {
            base_layer = baseLayer;
            lora_A = nn.Linear(baseLayer.weight!.shape[1], rank, hasBias: false);
            lora_B = nn.Linear(rank, baseLayer.weight!.shape[0], hasBias: false);
            using (torch.no_grad()) lora_B.weight!.zero_();
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            return (base_layer.forward(x) + lora_B.forward(lora_A.forward(x))).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void ReplaceProjection_RenamesParametersAndChangesTheForwardPass()
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.Folders[0]);
        Assert.NotNull(lm.OutputWeight);
        var ids = torch.tensor(new long[] { 3, 1, 4, 1, 5, 9 }).unsqueeze(0);
        Tensor before;
        using (torch.no_grad()) before = lm.forward(ids);

        foreach (var p in lm.parameters()) p.requires_grad = false;
        var attn = lm.model.layers[0].self_attn;
        var wrapper = new LowRank((Linear)attn.q_proj, 4);
        attn.ReplaceProjection("q_proj", wrapper);
        var mlp = lm.model.layers[0].mlp;
        mlp.ReplaceProjection("down_proj", new LowRank((Linear)mlp.down_proj, 4));

        var names = lm.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.layers.0.self_attn.q_proj.base_layer.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("model.layers.0.mlp.down_proj.lora_B.weight", names);
        Assert.DoesNotContain("model.layers.0.self_attn.q_proj.weight", names);
        Assert.Equal(4, lm.named_parameters().Count(p => p.parameter.requires_grad));

        using (torch.no_grad())
        {
            TensorAssert.Close(before, lm.forward(ids), 1e-6, "B = 0: unchanged");
            wrapper.lora_B.weight!.fill_(0.05f);
            Assert.True(TensorAssert.MaxAbsDiff(before, lm.forward(ids)) > 1e-4);
        }

        var labels = ids.clone();
        lm.Loss(ids, labels).backward();
        Assert.NotNull(wrapper.lora_A.weight!.grad);
        Assert.True(wrapper.lora_A.weight!.grad!.abs().sum().item<float>() > 0);
    }
}

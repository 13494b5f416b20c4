using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Jobs.Runs.Training;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Support;
using TorchSharp;

namespace DeepExtension.Tests.Runs;

[Collection(TorchCollection.Name)]
public class CheckpointStoreTests
{
    [Fact]
    public void Save_FiveSteps_KeepsTheLastThreeAndResumesFromTheNewest()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        var folder = ReferenceModels.Folders[0];
        var options = new AdamWOptions(1e-3, 0.9, 0.999, 1e-8, 0);
        var store = new CheckpointStore(Path.Combine(temp.Path, "checkpoints"), folder);
        Assert.Null(store.Latest());

        using (var lm = ForCausalLM.FromPretrained(folder))
        {
            var lora = LoraModel.Inject(lm, new LoraConfig(4, 8, 0, LoraConfig.AllProjections), new torch.Generator(1));
            using var optimizer = new AdamWOptimizer(lora.TrainableParameters, options);
            foreach (var step in new long[] { 2, 4, 6, 8, 10 }) Assert.True(store.Save(lora, optimizer, step, 0));
            // A step saved twice (interrupted right after its save) is left as it is.
            Assert.False(store.Save(lora, optimizer, 10, 0));
        }
        // A crash while writing leaves a .partial folder: never taken for a checkpoint.
        Directory.CreateDirectory(Path.Combine(temp.Path, "checkpoints", "step-00000012.partial"));

        Assert.Equal(["step-00000006", "step-00000008", "step-00000010", "step-00000012.partial"],
            Directory.GetDirectories(Path.Combine(temp.Path, "checkpoints")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("step-00000010", Path.GetFileName(store.Latest()));
        using var reloaded = ForCausalLM.FromPretrained(folder);
        var (_, resumed, state) = CheckpointStore.Load(store.Latest()!, reloaded, options);
        using (resumed) Assert.Equal(10, state.GlobalStep);
    }

    [Fact]
    public void Save_WithPpoValueHead_WritesItBesideTheAdapterAndResumesItsWeightsAndMoments()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        var folder = ReferenceModels.Folders[0];
        var options = new AdamWOptions(1e-2, 0.9, 0.999, 1e-8, 0);
        var store = new CheckpointStore(Path.Combine(temp.Path, "checkpoints"), folder);
        var hidden = ModelConfig.Load(folder).HiddenSize;
        float[] weight;
        using (var lm = ForCausalLM.FromPretrained(folder))
        using (var head = new ValueHead(hidden, torch.CPU, new torch.Generator(1)))
        {
            var lora = LoraModel.Inject(lm, new LoraConfig(4, 8, 0, LoraConfig.AllProjections), new torch.Generator(1));
            using var optimizer = new AdamWOptimizer([.. lora.TrainableParameters, .. head.Parameters], options);
            // One update, so the head's weights and AdamW moments differ from a fresh head's.
            head.forward(torch.ones(1, 2, hidden)).sum().backward();
            optimizer.Step();
            weight = head.summary.weight!.data<float>().ToArray();
            Assert.True(store.Save(lora, optimizer, 1, 0, head.Save));
        }
        var checkpoint = store.Latest()!;
        Assert.True(File.Exists(Path.Combine(checkpoint, ValueHead.FileName)));

        using var reloaded = ForCausalLM.FromPretrained(folder);
        using var fresh = new ValueHead(hidden, torch.CPU, new torch.Generator(2));
        fresh.Load(checkpoint);
        var (_, resumed, state) = CheckpointStore.Load(checkpoint, reloaded, options, fresh.Parameters);
        using (resumed)
        {
            Assert.Equal(1, state.GlobalStep);
            Assert.Equal(weight, fresh.summary.weight!.data<float>().ToArray());
            var moments = resumed.StateTensors();
            Assert.True(moments["exp_avg." + ValueHead.WeightName].abs().sum().item<float>() > 0);
        }
    }
}

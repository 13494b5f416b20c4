using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Engine.Lora;
using TorchSharp;

namespace DeepExtension.Tests.Support;

[Collection(TorchCollection.Name)]
public class ReferenceModelsTests
{
    [Fact]
    public void Folders_DefaultDirectory_ContainsTheCopiedReferenceModels()
    {
        // The bundled copy, whatever DEEPX_REFERENCE_MODELS points the other tests at.
        Assert.True(Directory.Exists(ReferenceModels.BundledPathOf("tiny-qwen2")));
        Assert.True(File.Exists(ReferenceModels.BundledPathOf("tiny-llama/config.json")));
        Assert.True(File.Exists(Path.Combine(ReferenceModels.BundledRoot, "chat-templates.json")));
        Assert.True(File.Exists(ReferenceModels.ChatTemplatesFile));
        Assert.NotEmpty(ReferenceModels.Folders);
    }

    [Fact]
    public void Folders_BundledSet_HasATiedAndAnUntiedModel()
    {
        // Why ReferenceSetVariant needs no tied-embeddings variant: the bundled set covers both.
        var tied = Directory.GetDirectories(ReferenceModels.BundledRoot)
            .Where(d => File.Exists(Path.Combine(d, "config.json")))
            .Select(d => JsonNode.Parse(File.ReadAllText(Path.Combine(d, "config.json")))!["tie_word_embeddings"]?.GetValue<bool>() ?? false)
            .ToList();
        Assert.Contains(true, tied);
        Assert.Contains(false, tied);
    }

    [Fact]
    public void Write_BundledSet_RenamesFoldersAndShardsWeightsKeepingEveryTensorAndOutput()
    {
        using var temp = new TempDirectory();
        var target = Path.Combine(temp.Path, "variant");

        var names = ReferenceSetVariant.Write(ReferenceModels.BundledRoot, target);

        Assert.Equal(["tiny-llama", "tiny-qwen2"], names.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(names.Keys.Intersect(names.Values));
        Assert.True(File.Exists(Path.Combine(target, "chat-templates.json")));
        foreach (var (original, renamed) in names)
        {
            var source = ReferenceModels.BundledPathOf(original);
            var folder = Path.Combine(target, renamed);
            Assert.False(File.Exists(Path.Combine(folder, "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(folder, "model.safetensors.index.json")));
            Assert.True(File.Exists(Path.Combine(folder, "reference.json")));
            Assert.True(File.Exists(Path.Combine(folder, "adapter", "adapter_model.safetensors")));

            using var scope = torch.NewDisposeScope();
            using (var before = SafetensorsCheckpoint.Open(source))
            using (var after = SafetensorsCheckpoint.Open(folder))
            {
                Assert.True(after.Files.Count >= ReferenceSetVariant.Shards);
                Assert.Equal(before.Names, after.Names);
                foreach (var name in before.Names) TensorAssert.Identical(before.Load(name), after.Load(name), name);
            }
            Assert.Equal(ModelCardReader.Read(source).ParameterCount, ModelCardReader.Read(folder).ParameterCount);

            // The expected outputs stay valid: the sharded model still gives transformers' logits.
            using var reference = SafetensorsFile.Open(Path.Combine(folder, "reference.safetensors"));
            using var lm = ForCausalLM.FromPretrained(folder);
            using var noGrad = torch.no_grad();
            TensorAssert.Close(reference.Load("logits"), lm.forward(reference.Load("input_ids"), reference.Load("attention_mask")), 1e-4, renamed);
        }
    }
}

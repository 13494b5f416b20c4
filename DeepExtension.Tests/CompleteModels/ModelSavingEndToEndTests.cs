using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;

namespace DeepExtension.Tests.CompleteModels;

/// <summary>Saves through the Quartz job store and a real `merge --save` worker process.</summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class ModelSavingEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task SaveAsync_ReferenceAdapter_WorkerWritesACompleteModelWithTheLogitsOfBasePlusAdapter()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        await using var host = await TrainingHost.StartAsync(env);

        var submitted = await host.CompleteModels.SaveAsync(customized.Id);
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var save = await WaitForAsync(host, env, submitted.Value!.Id);

        Assert.Equal(WorkStatus.Succeeded, save.Status);
        Assert.NotNull(save.StartedAtUtc);
        Assert.NotNull(save.FinishedAtUtc);
        var complete = Assert.Single(await host.CompleteModels.ListAsync());
        Assert.Equal($"{customized.Name}_s_{save.Id.ToString("N")[..4]}", complete.Name);
        Assert.Equal(save.CompleteModelId, complete.Id);
        Assert.Equal(customized.Id, complete.CustomizedModelId);
        var folder = host.CompleteModels.FolderOf(complete);
        Assert.Equal(Path.Combine(env.Directories.CompleteModels, complete.Name), folder);
        Assert.False(Directory.Exists(folder + ".partial"));
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer.json")));
        Assert.True(complete.SizeBytes > 0);

        var baseFolder = ReferenceModels.BundledPathOf("tiny-qwen2");
        using var scope = torch.NewDisposeScope();
        using var reference = SafetensorsFile.Open(Path.Combine(baseFolder, "reference.safetensors"));
        using var noGrad = torch.no_grad();
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        using var adapted = ForCausalLM.FromPretrained(baseFolder);
        PeftAdapter.Load(adapted, Path.Combine(env.Directories.Root, customized.AdapterPath));
        var expected = adapted.forward(ids, mask);
        using var merged = ForCausalLM.FromPretrained(folder);
        var actual = merged.forward(ids, mask);
        double diff = TensorAssert.MaxAbsDiff(expected, actual);
        Assert.True(diff <= 1e-4, $"merged logits differ from base + adapter by {diff}");
    }

    [Fact]
    public async Task SaveAsync_CorruptedAdapter_EndsFailedWithAReasonAndLeavesNoFolderOrEntry()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        await File.WriteAllTextAsync(Path.Combine(env.Directories.Root, customized.AdapterPath, "adapter_model.safetensors"), "not a safetensors file");
        await using var host = await TrainingHost.StartAsync(env);

        var submitted = await host.CompleteModels.SaveAsync(customized.Id);
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var save = await WaitForAsync(host, env, submitted.Value!.Id);

        Assert.Equal(WorkStatus.Failed, save.Status);
        Assert.False(string.IsNullOrWhiteSpace(save.FailureReason));
        Assert.NotNull(save.FinishedAtUtc);
        Assert.Empty(await host.CompleteModels.ListAsync());
        Assert.Empty(Directory.GetFileSystemEntries(env.Directories.CompleteModels));
    }

    private static async Task<ModelSave> WaitForAsync(TrainingHost host, TestEnvironment env, Guid saveId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var save = (await host.CompleteModels.GetSaveAsync(saveId))!;
            if (save.IsFinished) return save;
            if (DateTime.UtcNow > deadline)
            {
                var log = DeepExtension.Jobs.Saving.ModelSaveJob.LogOf(env.Directories, saveId).Path;
                Assert.Fail($"Save stayed {save.Status}. Log:\n{(File.Exists(log) ? File.ReadAllText(log) : "(no log)")}");
            }
            await Task.Delay(200);
        }
    }
}

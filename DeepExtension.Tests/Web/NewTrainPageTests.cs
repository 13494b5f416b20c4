using Bunit;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Runs;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace DeepExtension.Tests.Web;

public class NewTrainPageTests : ComponentTestContext
{
    [Fact]
    public async Task NewTrain_Defaults_PickTheModelMethodAndACompatibleDatasetAndFitMaxTokens()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);

        var page = Render<NewTrain>();

        page.WaitForAssertion(() => Assert.Equal("256", page.Find("input[data-testid=param-max_tokens]").GetAttribute("value")));
        Assert.Contains("facts v1", page.Find("[data-testid=train-dataset]").ParentElement!.TextContent);
    }

    [Fact]
    public async Task NewTrain_RunWithoutAName_ShowsTheRuleAndQueuesNothing()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = Render<NewTrain>();
        page.WaitForElement("button[data-testid=run-the-train]");

        page.Find("input[data-testid=param-batch_size]").Input("0");
        page.Find("button[data-testid=run-the-train]").Click();

        page.WaitForAssertion(() =>
        {
            Assert.Contains("The train name is required.", page.Markup);
            Assert.Contains("Batch size must be at least 1.", page.Markup);
        });
        Assert.Empty(Scheduler.Queued);
    }

    [Fact]
    public async Task NewTrain_ValidForm_QueuesTheRunWithTheFormsValues()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = Render<NewTrain>();
        page.WaitForElement("button[data-testid=run-the-train]");

        page.Find("input[data-testid=train-name]").Input("from-form");
        page.Find("input[data-testid=param-lora_r]").Input("4");
        page.Find("button[data-testid=run-the-train]").Click();

        page.WaitForAssertion(() => Assert.Single(Scheduler.Queued));
        var run = (await Services.GetRequiredService<TrainingRunService>().GetAsync(Scheduler.Queued[0]))!;
        Assert.Equal("from-form", run.Name);
        Assert.Equal(4, run.Parameters["lora_r"]!.GetValue<int>());
        Assert.Equal(256, run.Parameters["max_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task NewTrain_MaxTokensAtTheModelsWholeContext_WarnsNothingTheUserCannotChange()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = Render<NewTrain>();

        // The reference model's context is 256 tokens, below max tokens' typical range, and the form starts there.
        page.WaitForAssertion(() => Assert.Equal("256", page.Find("input[data-testid=param-max_tokens]").GetAttribute("value")));
        Assert.DoesNotContain("Max tokens 256 is below the typical range", page.Markup);

        // Below the context the user could raise it: then the hint is useful, and measured against this model's context,
        // not the 512–4096 that most models take.
        page.Find("input[data-testid=param-max_tokens]").Input("128");
        page.WaitForAssertion(() => Assert.Contains("Max tokens 128 is below this model's context of 256 tokens: longer examples are cut at 128.", page.Markup));
        Assert.DoesNotContain("512–4096", page.Markup);
    }

    [Fact]
    public async Task NewTrain_NoGpuReported_OffersAutoAndCpuOnly()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await WriteDevicesReportAsync([]);

        var popovers = Render<MudPopoverProvider>();
        var page = Render<NewTrain>();
        page.WaitForAssertion(() => Assert.Contains("No NVIDIA GPU", page.Find("[data-testid=training-devices]").TextContent));

        Assert.Equal(["auto · CPU (no GPU)", "cpu"], await DeviceItemsAsync(page, popovers));
    }

    [Fact]
    public async Task NewTrain_GpusReported_OffersEachWithNameAndFreeMemoryAndShowsThemInTheDevicesPanel()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await WriteDevicesReportAsync(
        [
            new GpuInfo(0, "NVIDIA H100 80GB HBM3", 85_520_809_984, 84_987_740_160, "9.0", "00000000:19:00.0"),
            new GpuInfo(1, "NVIDIA L4", 24_152_899_584, 23_580_000_000, "8.9", "00000000:3B:00.0"),
        ]);

        var popovers = Render<MudPopoverProvider>();
        var page = Render<NewTrain>();
        page.WaitForAssertion(() => Assert.Contains("NVIDIA L4", page.Find("[data-testid=devices-gpus]").TextContent));

        Assert.Equal(
        [
            "auto · NVIDIA H100 80GB HBM3",
            "cpu",
            "cuda · NVIDIA H100 80GB HBM3 · 79.15 GiB free of 79.65 GiB",
            "cuda:1 · NVIDIA L4 · 21.96 GiB free of 22.49 GiB",
        ], await DeviceItemsAsync(page, popovers));
        Assert.Contains("Backend cuda", page.Find("[data-testid=devices-backend]").TextContent);
    }

    [Fact]
    public async Task NewTrain_MemoryEstimate_FitsTheGpu_IsShownWithoutWarning()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await WriteDevicesReportAsync([new GpuInfo(0, "NVIDIA L4", 24_152_899_584, 23_580_000_000, "8.9", "00000000:3B:00.0")]);

        var page = Render<NewTrain>();
        page.WaitForAssertion(() => Assert.Contains("free on NVIDIA L4", page.Find("[data-testid=memory-estimate]").TextContent));
        var text = page.Find("[data-testid=memory-estimate]").TextContent;
        Assert.Contains("Estimated peak GPU memory", text);
        Assert.Contains("activations", text);
        Assert.Empty(page.FindAll("[data-testid=memory-will-not-fit]"));
        Assert.Empty(page.FindAll("[data-testid=checkpointing-reason]"));
        Assert.Equal("off", await QueuedCheckpointingAsync(page));
    }

    [Fact]
    public async Task NewTrain_RunFitsOnlyWithCheckpointing_TurnsItOnAndSaysWhy()
    {
        var (model, _, _) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var (off, layer) = Estimates(model.Card, TrainingAlgorithm.Sft);
        Assert.True(layer < off, "checkpointing lowers the estimate");
        await WriteDevicesReportAsync([new GpuInfo(0, "NVIDIA L4", 24_152_899_584, (off + layer) / 2, "8.9", "00000000:3B:00.0")]);

        var page = Render<NewTrain>();
        page.WaitForAssertion(() => Assert.Contains("Gradient checkpointing set to layer", page.Find("[data-testid=checkpointing-reason]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=memory-will-not-fit]"));
        Assert.Equal("layer", await QueuedCheckpointingAsync(page));
    }

    [Fact]
    public async Task NewTrain_RunDoesNotFitEvenWithCheckpointing_WarnsBeforeItStarts()
    {
        var (model, _, _) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var (_, layer) = Estimates(model.Card, TrainingAlgorithm.Sft);
        await WriteDevicesReportAsync([new GpuInfo(0, "NVIDIA L4", 24_152_899_584, layer / 2, "8.9", "00000000:3B:00.0")]);

        var page = Render<NewTrain>();
        page.WaitForAssertion(() => Assert.Contains("will likely run out of GPU memory", page.Find("[data-testid=memory-will-not-fit]").TextContent));
        Assert.Contains("still too much", page.Find("[data-testid=memory-will-not-fit]").TextContent);
        Assert.Contains("mud-alert-text-warning", page.Find("[data-testid=memory-estimate]").ClassName);
    }

    /// <summary>The estimates of the method's defaults on <paramref name="card"/>'s model, without and with checkpointing.</summary>
    private static (long Off, long Layer) Estimates(DeepExtension.Core.BaseModels.ModelCard card, TrainingAlgorithm algorithm)
    {
        var method = new TrainingMethod { Name = "m", Algorithm = algorithm };
        var parameters = TrainingParameters.FromJson(method.ResolvedDefaults(), algorithm) with { MaxTokens = Math.Min(1024, card.ContextLength ?? 1024) };
        var shape = ModelShape.Of(card)!;
        return (MemoryEstimate.For(shape, parameters with { GradientCheckpointing = "off" }, gpu: true).Total,
                MemoryEstimate.For(shape, parameters with { GradientCheckpointing = "layer" }, gpu: true).Total);
    }

    /// <summary>Runs the form as it stands and returns the queued run's gradient checkpointing.</summary>
    private async Task<string> QueuedCheckpointingAsync(IRenderedComponent<NewTrain> page)
    {
        page.Find("input[data-testid=train-name]").Input("estimate");
        page.Find("button[data-testid=run-the-train]").Click();
        page.WaitForAssertion(() => Assert.Single(Scheduler.Queued));
        var run = (await Services.GetRequiredService<TrainingRunService>().GetAsync(Scheduler.Queued[0]))!;
        return run.Parameters[TrainingParameters.Keys.GradientCheckpointing]!.GetValue<string>();
    }

    /// <summary>Opens the device select and reads its items.</summary>
    private static async Task<List<string>> DeviceItemsAsync(IRenderedComponent<NewTrain> page, IRenderedComponent<MudPopoverProvider> popovers)
    {
        var select = page.FindComponents<MudSelect<string>>().Single(s => Equals(s.Instance.UserAttributes.GetValueOrDefault("data-testid"), "train-device"));
        await page.InvokeAsync(select.Instance.OpenMenu);
        List<string> items = [];
        popovers.WaitForAssertion(() =>
        {
            items = popovers.FindAll(".mud-list-item").Select(i => i.TextContent.Trim()).ToList();
            Assert.NotEmpty(items);
        });
        return items;
    }

    /// <summary>The report a worker node writes to the data root (what <c>DeepExtension.Jobs devices</c> prints).</summary>
    private async Task WriteDevicesReportAsync(IReadOnlyList<GpuInfo> gpus)
    {
        var report = new DevicesReport(gpus.Count > 0 ? "cuda" : "cpu",
            new LibTorchReport("/opt/torch/lib", gpus.Count > 0 ? "configured" : "bundled", "2.11.0+cu130", gpus.Count > 0, "/opt/torch/lib"),
            null, gpus.Count > 0 ? "13.0" : null, gpus, null);
        Directory.CreateDirectory(Env.Directories.Root);
        await File.WriteAllTextAsync(Path.Combine(Env.Directories.Root, TrainingDevices.FileName), report.ToJson());
    }
}

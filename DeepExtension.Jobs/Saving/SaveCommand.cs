using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs.Saving;

/// <summary>
/// <c>DeepExtension.Jobs merge --save ID</c> (earlier <c>merge-save --save ID</c>, still accepted): the worker process of
/// one save. Reads the base model and the customized model's adapter from the save's row and merges them through
/// <see cref="ModelMerge"/> into complete-models/&lt;name&gt;, reporting progress into the row.
/// </summary>
public static class SaveCommand
{
    public const string SaveOption = "--save";

    public static async Task<int> RunAsync(string[] args)
    {
        var saveArgument = Array.IndexOf(args, SaveOption);
        if (saveArgument < 0 || saveArgument + 1 >= args.Length || !Guid.TryParse(args[saveArgument + 1], out var saveId))
        {
            await Console.Error.WriteLineAsync("usage: DeepExtension.Jobs merge --save SAVE_ID");
            return WorkerExit.Usage;
        }

        var builder = Host.CreateApplicationBuilder(args.Where((_, i) => i != saveArgument && i != saveArgument + 1).ToArray());
        builder.Configuration[JobsHostingExtensions.SchedulerEnabledKey] = "false";
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        using var host = builder.Build();
        var saves = host.Services.GetRequiredService<CompleteModelService>();
        var customized = host.Services.GetRequiredService<CustomizedModelService>();
        var baseModels = host.Services.GetRequiredService<BaseModelService>();
        var directories = host.Services.GetRequiredService<DataDirectories>();

        var save = await saves.GetSaveAsync(saveId);
        if (save is null)
        {
            await Console.Error.WriteLineAsync($"Save {saveId} does not exist.");
            return WorkerExit.Failed;
        }
        var relative = DataDirectories.RelativeCompleteModelFolder(save.OutputName);
        await using var ownership = await WorkerOwnership.TakeAsync(host.Services, WorkKind.Save, saveId, $"Save {saveId}");
        if (ownership is null) return WorkerExit.LeaseLost;
        try
        {
            var model = await customized.GetAsync(save.CustomizedModelId) ?? throw new InvalidOperationException("The customized model no longer exists.");
            var baseModel = await baseModels.GetAsync(model.BaseModelId) ?? throw new InvalidOperationException("The base model is no longer registered.");
            var adapter = customized.FolderOf(model);
            if (!Directory.Exists(adapter)) throw new InvalidOperationException($"The adapter folder {model.AdapterPath} is missing.");
            if (Directory.Exists(directories.CompleteModelFolder(save.OutputName))) throw new InvalidOperationException($"{relative} already exists.");
            Console.WriteLine($"merging {model.AdapterPath} into {baseModel.TechnicalName}");
            // The console shows the save's progress from its row: the share of weight bytes merged, at most once a second.
            var lastReport = DateTime.MinValue;
            var written = ModelMerge.Run(baseModels.FolderOf(baseModel), adapter, directories.CompleteModelFolder(save.OutputName), progress: fraction =>
            {
                // Orphaned (the console that started it is gone): stop between tensors; the save is run again later.
                ownership.ParentGone.ThrowIfCancellationRequested();
                if (DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(1) && fraction < 1) return;
                lastReport = DateTime.UtcNow;
                saves.ReportProgressAsync(saveId, CompleteModelService.MergeShare(fraction)).GetAwaiter().GetResult();
            });
            Console.WriteLine($"wrote {written.Count} files to {relative}");
            return WorkerExit.Succeeded;
        }
        catch (OperationCanceledException) when (ownership.ParentGone.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("The console that started this worker is gone: the save stops and runs again later.");
            return WorkerExit.Stopped;
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync($"Saving failed: {ex.Message}");
            return WorkerExit.Failed;
        }
    }
}

using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs.Saving;

/// <summary>
/// <c>DeepExtension.Jobs merge-save --save ID</c>: the worker process of one save. Loads the base model and the
/// customized model's adapter, merges them into complete-models/&lt;name&gt;.partial and renames that to
/// complete-models/&lt;name&gt; when everything is written; on failure nothing of the output stays.
/// </summary>
public static class SaveCommand
{
    public const string PartialSuffix = ".partial";

    /// <summary>Where a save's worker output (log) goes: saves/&lt;id&gt;/ under the data root.</summary>
    public static RunFiles LogFilesOf(DataDirectories directories, Guid saveId) =>
        new(Path.Combine(directories.Root, "saves", saveId.ToString("N")));

    public static async Task<int> RunAsync(string[] args)
    {
        var saveArgument = Array.IndexOf(args, "--save");
        if (saveArgument < 0 || saveArgument + 1 >= args.Length || !Guid.TryParse(args[saveArgument + 1], out var saveId))
        {
            await Console.Error.WriteLineAsync("usage: DeepExtension.Jobs merge-save --save SAVE_ID");
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
        var final = Path.Combine(directories.CompleteModels, save.OutputName);
        var partial = final + PartialSuffix;
        try
        {
            var model = await customized.GetAsync(save.CustomizedModelId) ?? throw new InvalidOperationException("The customized model no longer exists.");
            var baseModel = await baseModels.GetAsync(model.BaseModelId) ?? throw new InvalidOperationException("The base model is no longer registered.");
            var adapter = customized.FolderOf(model);
            if (!Directory.Exists(adapter)) throw new InvalidOperationException($"The adapter folder {model.AdapterPath} is missing.");
            if (Directory.Exists(final)) throw new InvalidOperationException($"complete-models/{save.OutputName} already exists.");
            Folders.DeleteQuietly(partial);
            Console.WriteLine($"merging {model.AdapterPath} into {baseModel.TechnicalName}");
            // The console shows the save's progress from its row: the share of weight bytes merged, at most once a second.
            var lastReport = DateTime.MinValue;
            var written = MergedModelWriter.Write(baseModels.FolderOf(baseModel), adapter, partial, progress: fraction =>
            {
                if (DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(1) && fraction < 1) return;
                lastReport = DateTime.UtcNow;
                saves.ReportProgressAsync(saveId, CompleteModelService.MergeShare(fraction)).GetAwaiter().GetResult();
            });
            Directory.Move(partial, final);
            Console.WriteLine($"wrote {written.Count} files to complete-models/{save.OutputName}");
            return WorkerExit.Succeeded;
        }
        catch (Exception ex)
        {
            Folders.DeleteQuietly(partial);
            await Console.Error.WriteLineAsync($"Saving failed: {ex.Message}");
            return WorkerExit.Failed;
        }
    }
}

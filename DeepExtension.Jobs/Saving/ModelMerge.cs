using DeepExtension.Core.Storage;
using DeepExtension.Jobs.Engine.Lora;

namespace DeepExtension.Jobs.Saving;

/// <summary>
/// The one way an adapter is merged into its base model, whoever asks: <c>merge --model --adapter --out</c> from a shell
/// or from a deployment whose adapter Ollama cannot import, and <c>merge --save ID</c> for a Save. The output is
/// written as &lt;out&gt;.partial and renamed to &lt;out&gt; when every file is there, so a folder under the final name is
/// always complete; on failure nothing of the output stays.
/// </summary>
public static class ModelMerge
{
    /// <summary>Merges <paramref name="adapterFolder"/> into <paramref name="baseFolder"/> and writes a complete model to <paramref name="outputFolder"/>.</summary>
    /// <param name="progress">The fraction (0..1] of weight bytes merged, after each tensor.</param>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Run(string baseFolder, string adapterFolder, string outputFolder,
        long maxShardBytes = MergedModelWriter.DefaultMaxShardBytes, Action<double>? progress = null)
    {
        var output = Path.GetFullPath(outputFolder);
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new InvalidOperationException($"{outputFolder} already exists and is not empty.");
        var partial = DataDirectories.PartialOf(output);
        Folders.DeleteQuietly(partial);
        try
        {
            var files = MergedModelWriter.Write(baseFolder, adapterFolder, partial, maxShardBytes, progress);
            if (Directory.Exists(output)) Directory.Delete(output);
            Directory.Move(partial, output);
            return files.Select(f => Path.Combine(output, Path.GetRelativePath(partial, f))).ToList();
        }
        catch
        {
            Folders.DeleteQuietly(partial);
            throw;
        }
    }
}

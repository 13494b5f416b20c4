using Microsoft.Extensions.Options;

namespace DeepExtension.Core.Storage;

/// <summary>The resolved, absolute folders under the data root. Created on first use.</summary>
public sealed class DataDirectories
{
    public DataDirectories(IOptions<DeepExtensionOptions> options)
        : this(options.Value)
    {
    }

    public DataDirectories(DeepExtensionOptions options)
    {
        Root = Path.GetFullPath(options.DataRoot);
        ModelsRoot = Path.GetFullPath(Path.Combine(Root, options.ModelsRoot));
        Datasets = Path.Combine(Root, "datasets");
        Runs = Path.Combine(Root, "runs");
        Adapters = Path.Combine(Root, "adapters");
        CompleteModels = Path.Combine(Root, "complete-models");
        Deployments = Path.Combine(Root, "deployments");
    }

    public string Root { get; }
    public string ModelsRoot { get; }
    public string Datasets { get; }
    public string Runs { get; }
    public string Adapters { get; }
    public string CompleteModels { get; }
    /// <summary>Per deployment: its log and, while it runs, the merged folder of an adapter Ollama cannot import.</summary>
    public string Deployments { get; }

    public string DefaultSqliteFile => Path.Combine(Root, "deepextension.db");

    public void EnsureCreated()
    {
        foreach (var dir in new[] { Root, ModelsRoot, Datasets, Runs, Adapters, CompleteModels, Deployments })
        {
            Directory.CreateDirectory(dir);
        }
    }
}

using Microsoft.Extensions.Options;

namespace DeepExtension.Core.Storage;

/// <summary>
/// The resolved, absolute folders under the data root, and the one place their names are spelled
/// (entities store paths relative to the root, so the relative forms live here too). Created on first use.
/// </summary>
public sealed class DataDirectories
{
    public const string DatasetsFolder = "datasets";
    public const string RunsFolder = "runs";
    public const string AdaptersFolder = "adapters";
    public const string CompleteModelsFolder = "complete-models";
    public const string SavesFolder = "saves";
    public const string DeploymentsFolder = "deployments";
    public const string DownloadsFolder = "downloads";
    public const string EvaluationsFolder = "evaluations";
    public const string KeysFolder = "keys";

    /// <summary>A folder is written under its name plus this suffix and renamed when complete, so a half-written one is never taken for a finished one.</summary>
    public const string PartialSuffix = ".partial";

    public DataDirectories(IOptions<DeepExtensionOptions> options)
        : this(options.Value)
    {
    }

    public DataDirectories(DeepExtensionOptions options)
    {
        Root = Path.GetFullPath(options.DataRoot);
        ModelsRoot = Path.GetFullPath(Path.Combine(Root, options.ModelsRoot));
        Datasets = Path.Combine(Root, DatasetsFolder);
        Runs = Path.Combine(Root, RunsFolder);
        Adapters = Path.Combine(Root, AdaptersFolder);
        CompleteModels = Path.Combine(Root, CompleteModelsFolder);
        Saves = Path.Combine(Root, SavesFolder);
        Deployments = Path.Combine(Root, DeploymentsFolder);
        Downloads = Path.Combine(Root, DownloadsFolder);
        Evaluations = Path.Combine(Root, EvaluationsFolder);
        Keys = Path.Combine(Root, KeysFolder);
    }

    public string Root { get; }
    public string ModelsRoot { get; }
    public string Datasets { get; }
    public string Runs { get; }
    public string Adapters { get; }
    public string CompleteModels { get; }
    /// <summary>Per save: the merge worker's log.</summary>
    public string Saves { get; }
    /// <summary>Per deployment: its log and, while it runs, the merged folder of an adapter Ollama cannot import.</summary>
    public string Deployments { get; }
    /// <summary>Per Hub download: its log (the files themselves go under the models root).</summary>
    public string Downloads { get; }
    /// <summary>Per evaluation: its results (results.jsonl) and its log.</summary>
    public string Evaluations { get; }
    /// <summary>
    /// The Data Protection key ring (sign-in cookies, stored access tokens): with the data, so a backup or a move of the
    /// data root, a container rebuilt over the same volume and every process on it can still read what was protected.
    /// </summary>
    public string Keys { get; }

    public string DefaultSqliteFile => Path.Combine(Root, "deepextension.db");

    /// <summary>runs/&lt;id&gt;, relative to the data root.</summary>
    public static string RelativeRunFolder(Guid runId) => Path.Combine(RunsFolder, runId.ToString("N"));

    /// <summary>adapters/&lt;name&gt;, relative to the data root.</summary>
    public static string RelativeAdapterFolder(string customizedModelName) => Path.Combine(AdaptersFolder, customizedModelName);

    /// <summary>complete-models/&lt;name&gt;, relative to the data root.</summary>
    public static string RelativeCompleteModelFolder(string completeModelName) => Path.Combine(CompleteModelsFolder, completeModelName);

    public string SaveFolder(Guid saveId) => Path.Combine(Saves, saveId.ToString("N"));

    public string DeploymentFolder(Guid deploymentId) => Path.Combine(Deployments, deploymentId.ToString("N"));

    public string DownloadFolder(Guid downloadId) => Path.Combine(Downloads, downloadId.ToString("N"));
    public string EvaluationFolder(Guid evaluationId) => Path.Combine(Evaluations, evaluationId.ToString("N"));

    public string CompleteModelFolder(string completeModelName) => Path.Combine(CompleteModels, completeModelName);

    /// <summary>Where <paramref name="folder"/> is written before it is complete.</summary>
    public static string PartialOf(string folder) => folder + PartialSuffix;

    public void EnsureCreated()
    {
        foreach (var dir in new[] { Root, ModelsRoot, Datasets, Runs, Adapters, CompleteModels, Deployments })
        {
            Directory.CreateDirectory(dir);
        }
    }
}

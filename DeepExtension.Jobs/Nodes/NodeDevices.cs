using DeepExtension.Core.Data;
using DeepExtension.Jobs.Runs;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Jobs.Nodes;

/// <summary>
/// The devices this node trains on, and which of them a run may take. On a clustered job store (several nodes) a run
/// only starts on a node that has a device of the kind it asks for; elsewhere the one machine takes every run as before
/// (a run asking for a GPU the machine lacks then fails in its worker, which says why).
/// </summary>
public sealed class NodeDevices(TrainingDevices devices, DatabaseSetup database, IConfiguration configuration)
{
    /// <summary>
    /// Overrides the devices the node offers, comma-separated ("cpu", "cpu,cuda:0"). Meant for tests and for keeping a GPU
    /// machine's CPU out of the pool; the devices report still shows what the machine has.
    /// </summary>
    public const string DevicesKey = "DeepExtension:Nodes:Devices";

    /// <summary>Whether runs are routed by device (a clustered job store, where another node may have the device).</summary>
    public bool Routes => Scheduling.JobsHostingExtensions.IsClustered(configuration, database);

    /// <summary>The configured override, or null.</summary>
    public IReadOnlyList<string>? Configured => configuration[DevicesKey] is { Length: > 0 } list
        ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => d.ToLowerInvariant()).Distinct().ToList()
        : null;

    /// <summary>
    /// The devices offered now: the override, else the CPU and each GPU of the latest devices report when its libtorch
    /// can use them (a CPU libtorch on a GPU machine offers the CPU only). Only the CPU until a report exists.
    /// </summary>
    public IReadOnlyList<string> Offered => Configured ?? Of(devices.Latest?.Report);

    public static IReadOnlyList<string> Of(Engine.Runtime.DevicesReport? report) =>
        report is { Backend: "cuda" } ? ["cpu", .. report.Gpus.Select(g => $"cuda:{g.Index}")] : ["cpu"];

    /// <summary>
    /// The devices of <paramref name="offered"/> that satisfy <paramref name="requested"/>, in order of preference: "cpu",
    /// "cuda:N" as named; "cuda" any GPU; "auto" any GPU, else the CPU. Empty: this node has none.
    /// </summary>
    public static IReadOnlyList<string> Candidates(string requested, IReadOnlyList<string> offered)
    {
        var gpus = offered.Where(IsGpu).ToList();
        return requested switch
        {
            "auto" => gpus.Count > 0 ? gpus : offered.Where(d => d == "cpu").ToList(),
            "cuda" => gpus,
            _ => offered.Where(d => d == requested).ToList(),
        };
    }

    /// <summary>The kind a request asks for, as people say it: "CPU", "GPU" ("cuda"), "cuda:1", "any device".</summary>
    public static string Describe(string requested) => requested switch
    {
        "auto" => "any device",
        "cuda" => "CUDA GPU",
        "cpu" => "CPU",
        _ => requested,
    };

    private static bool IsGpu(string device) => device.StartsWith("cuda", StringComparison.Ordinal);
}

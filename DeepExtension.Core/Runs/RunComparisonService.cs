using System.Globalization;
using System.Text.Json.Nodes;
using DeepExtension.Core.Data;
using DeepExtension.Core.Training;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Runs;

/// <summary>One run of a comparison with what its configuration and outcome rows need beyond the run row.</summary>
public sealed record ComparedRun(TrainingRun Run, string? DatasetName, int? DatasetVersion, string? DatasetSha256, string? CustomizedModelName)
{
    /// <summary>The run's <see cref="Work.WorkItem.Duration"/>.</summary>
    public TimeSpan? Duration(DateTime utcNow) => Run.Duration(utcNow);
}

/// <summary>One configuration row: a label and the value of each compared run, as shown.</summary>
public sealed record ConfigurationRow(string Key, string Group, string Label, IReadOnlyList<string> Values)
{
    /// <summary>Every run has the same value (hidden by "differences only").</summary>
    public bool AllEqual => Values.Distinct(StringComparer.Ordinal).Count() <= 1;
}

/// <summary>The runs found (in the order asked for), the ids that name no run, and the configuration side by side.</summary>
public sealed record RunComparison(IReadOnlyList<ComparedRun> Runs, IReadOnlyList<Guid> MissingIds, IReadOnlyList<ConfigurationRow> Configuration);

/// <summary>Loads runs for the Compare page and lines up their configurations.</summary>
public sealed class RunComparisonService(IDbContextFactory<DeepExtensionDbContext> dbFactory)
{
    /// <summary>Shown where a run has no value for a row (a parameter of another method, a dataset since deleted).</summary>
    public const string NoValue = "—";

    /// <summary>Run ids from the page address: comma-separated, duplicates dropped, order kept; unreadable ones reported.</summary>
    public static (IReadOnlyList<Guid> Ids, IReadOnlyList<string> Unreadable) ParseIds(string? text)
    {
        var ids = new List<Guid>();
        var unreadable = new List<string>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Guid.TryParse(part, out var id)) unreadable.Add(part);
            else if (!ids.Contains(id)) ids.Add(id);
        }
        return (ids, unreadable);
    }

    public async Task<RunComparison> CompareAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var runs = await db.TrainingRuns.AsNoTracking().Where(r => ids.Contains(r.Id)).ToListAsync(cancellationToken);
        var versionIds = runs.Select(r => r.DatasetVersionId).Distinct().ToList();
        var versions = await db.DatasetVersions.AsNoTracking().Where(v => versionIds.Contains(v.Id)).ToListAsync(cancellationToken);
        var datasetIds = versions.Select(v => v.DatasetId).Distinct().ToList();
        var datasetNames = await db.Datasets.AsNoTracking().Where(d => datasetIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => d.Name, cancellationToken);
        var runIds = runs.Select(r => r.Id).ToList();
        var adapters = await db.CustomizedModels.AsNoTracking().Where(m => runIds.Contains(m.TrainingRunId))
            .ToDictionaryAsync(m => m.TrainingRunId, m => m.Name, cancellationToken);

        var byId = runs.ToDictionary(r => r.Id);
        var compared = new List<ComparedRun>();
        foreach (var id in ids)
        {
            if (!byId.TryGetValue(id, out var run)) continue;
            var version = versions.FirstOrDefault(v => v.Id == run.DatasetVersionId);
            compared.Add(new ComparedRun(run,
                version is not null && datasetNames.TryGetValue(version.DatasetId, out var name) ? name : null,
                version?.VersionNumber, version?.ContentSha256, adapters.GetValueOrDefault(run.Id)));
        }
        return new RunComparison(compared, ids.Where(id => !byId.ContainsKey(id)).ToList(), ConfigurationOf(compared));
    }

    /// <summary>
    /// Lineage first (base model, dataset, dataset version with its hash, method, device), then every parameter in the
    /// methods' schema order with its label; save frequency is one row ("every 1 epochs"), and keys no schema knows
    /// come last by name.
    /// </summary>
    public static IReadOnlyList<ConfigurationRow> ConfigurationOf(IReadOnlyList<ComparedRun> runs)
    {
        var parameters = runs.Select(r => r.Run.Parameters).ToList();
        var typed = runs.Select(r => r.Run.TrainingParameters).ToList();
        var rows = new List<ConfigurationRow>
        {
            Row("base_model", "Lineage", "Base model", runs.Select(r => r.Run.BaseModelTechnicalName)),
            Row("dataset", "Lineage", "Dataset", runs.Select(r => r.DatasetName ?? NoValue)),
            Row("dataset_version", "Lineage", "Dataset version",
                runs.Select(r => r.DatasetVersion is { } v ? $"v{v} · sha256 {Short(r.DatasetSha256)}" : NoValue)),
            Row("method", "Lineage", "Method", runs.Select(r => MethodLabel(r.Run))),
            Row("device", "Lineage", "Device", runs.Select(r => r.Run.Device)),
        };

        var specs = new List<ParameterSpec>();
        foreach (var algorithm in runs.Select(r => r.Run.Algorithm).Distinct())
        {
            specs.AddRange(AlgorithmCatalog.Get(algorithm).Parameters.Where(p => specs.All(s => s.Key != p.Key)));
        }
        foreach (var spec in specs)
        {
            switch (spec.Key)
            {
                case TrainingParameters.Keys.SaveUnit:
                    continue;
                case TrainingParameters.Keys.SaveEvery:
                    rows.Add(Row("save_frequency", spec.Group, "Save frequency", parameters.Zip(typed, (p, t) =>
                        p[TrainingParameters.Keys.SaveEvery] is null ? NoValue : t.SaveFrequency)));
                    continue;
                default:
                    rows.Add(Row(spec.Key, spec.Group, spec.Label, parameters.Select(p => Show(p, spec.Key))));
                    break;
            }
        }
        var known = specs.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var key in parameters.SelectMany(p => p.Select(kv => kv.Key)).Where(k => !known.Contains(k)).Distinct().Order(StringComparer.Ordinal))
        {
            rows.Add(Row(key, "Other", key, parameters.Select(p => Show(p, key))));
        }
        return rows;
    }

    /// <summary>The method's name, with its algorithm where it is an own preset ("SFT gentle (SFT (LoRA))").</summary>
    private static string MethodLabel(TrainingRun run)
    {
        var algorithm = AlgorithmCatalog.Get(run.Algorithm).DisplayName;
        return run.MethodName == algorithm ? algorithm : $"{run.MethodName} ({algorithm})";
    }

    private static ConfigurationRow Row(string key, string group, string label, IEnumerable<string> values) => new(key, group, label, values.ToList());

    private static string Show(JsonObject parameters, string key) => parameters.TryGetPropertyValue(key, out var value)
        ? value is JsonValue text && text.TryGetValue<string>(out var s) && string.IsNullOrWhiteSpace(s) ? "(none)" : ParameterSpec.Format(value)
        : NoValue;

    private static string Short(string? sha256) => sha256 is null ? NoValue : sha256.Length > 12 ? sha256[..12] + "…" : sha256;
}

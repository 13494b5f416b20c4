using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Training;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>One file of a checkpoint as its manifest records it: name relative to the folder, size and SHA-256 (hex).</summary>
public sealed record CheckpointFile(string Name, long Size, string Sha256);

/// <summary>A checkpoint's <c>checkpoint.json</c>, written last: every other file with its size and hash, and the step and epoch.</summary>
public sealed record CheckpointManifest(long Step, int Epoch, IReadOnlyList<CheckpointFile> Files);

/// <summary>A checkpoint passed over when resuming, and why.</summary>
public sealed record SkippedCheckpoint(string Name, string Reason);

/// <summary>What resuming found: the newest usable checkpoint (null when none), the newer ones skipped, and how many
/// folders left by interrupted writes were removed.</summary>
public sealed record CheckpointChoice(string? Checkpoint, IReadOnlyList<SkippedCheckpoint> Skipped, int PartialsRemoved);

/// <summary>
/// A run's resumable checkpoints, <c>checkpoints/step-NNNNNNNN/</c> (see <see cref="TrainingCheckpoint"/>): written
/// under a <c>.partial</c> name with a manifest of every file's size and SHA-256 written last, and renamed when
/// complete; only the last <see cref="Kept"/> are kept. Resuming takes the newest checkpoint that verifies against its
/// manifest (a torn or corrupted file is caught before any parser sees it) and falls back to older ones. Checkpoints of
/// earlier versions have no manifest: they are verified by parsing their files.
/// </summary>
public sealed class CheckpointStore(string directory, string baseModelNameOrPath)
{
    public const int Kept = 3;
    public const string ManifestFile = "checkpoint.json";
    private const string Prefix = "step-";
    private const string PartialSuffix = ".partial";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The newest checkpoint that verifies, or null when the run has none.</summary>
    public string? Latest() => Choose(removePartials: false).Checkpoint;

    /// <summary>The checkpoint to resume from: the newest that verifies; the newer ones that do not are listed with the
    /// reason. Folders left by an interrupted write are removed (only the run's owner resumes, so none is being written).</summary>
    public CheckpointChoice Choose(bool removePartials = true)
    {
        var removed = 0;
        if (removePartials && Directory.Exists(directory))
        {
            foreach (var partial in Directory.GetDirectories(directory, Prefix + "*" + PartialSuffix))
            {
                Directory.Delete(partial, recursive: true);
                removed++;
            }
        }
        var skipped = new List<SkippedCheckpoint>();
        foreach (var candidate in Candidates().Reverse())
        {
            if (Verify(candidate) is not { } reason) return new CheckpointChoice(candidate, skipped, removed);
            skipped.Add(new SkippedCheckpoint(Path.GetFileName(candidate), reason));
        }
        return new CheckpointChoice(null, skipped, removed);
    }

    /// <summary>The adapter, optimizer and trainer state of <paramref name="checkpoint"/>, on a freshly loaded base <paramref name="model"/>.</summary>
    public static (LoraModel Lora, AdamWOptimizer Optimizer, TrainerState State) Load(string checkpoint, ForCausalLM model, AdamWOptions options,
        IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)>? extraParameters = null) =>
        TrainingCheckpoint.Load(checkpoint, model, options, extraParameters);

    /// <summary>Writes the checkpoint of <paramref name="step"/> and drops the oldest beyond <see cref="Kept"/>. False when
    /// that step's checkpoint exists already and verifies (a run interrupted right after saving); one that does not verify
    /// is replaced. <paramref name="writeExtra"/> adds the objective's own files (PPO's value head) to the folder before
    /// the manifest, which covers them too.</summary>
    public bool Save(LoraModel lora, AdamWOptimizer optimizer, long step, int epoch, Action<string>? writeExtra = null)
    {
        var folder = Path.Combine(directory, $"{Prefix}{step:D8}");
        if (Directory.Exists(folder))
        {
            if (Verify(folder) is null) return false;
            Directory.Delete(folder, recursive: true);
        }
        var partial = folder + PartialSuffix;
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        TrainingCheckpoint.Save(partial, lora, optimizer, new TrainerState(step, epoch, 0, optimizer.LearningRate), baseModelNameOrPath);
        writeExtra?.Invoke(partial);
        WriteManifest(partial, step, epoch);
        Directory.Move(partial, folder);
        foreach (var old in Candidates().SkipLast(Kept)) Directory.Delete(old, recursive: true);
        return true;
    }

    /// <summary>Null when <paramref name="checkpoint"/> can be resumed from; otherwise why not, in words for the train log.</summary>
    public static string? Verify(string checkpoint)
    {
        var manifestPath = Path.Combine(checkpoint, ManifestFile);
        if (File.Exists(manifestPath))
        {
            CheckpointManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(manifestPath));
            }
            catch (JsonException e)
            {
                return $"its manifest {ManifestFile} cannot be read ({e.Message})";
            }
            if (manifest?.Files is not { Count: > 0 } files) return $"its manifest {ManifestFile} lists no files";
            foreach (var file in files)
            {
                var path = Path.Combine(checkpoint, file.Name);
                if (!File.Exists(path)) return $"{file.Name} is missing";
                var size = new FileInfo(path).Length;
                if (size != file.Size)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"{file.Name} does not match its manifest (size {size:N0}, expected {file.Size:N0} bytes)");
                }
                if (!string.Equals(Sha256Of(path), file.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    return $"{file.Name} does not match its manifest (its SHA-256 differs)";
                }
            }
            if (files.All(f => f.Name != TrainingCheckpoint.StateFile)) return $"its manifest does not list {TrainingCheckpoint.StateFile}";
        }
        // Parsed in any case: a checkpoint of an earlier version (no manifest) is verified this way alone.
        return Parses(checkpoint);
    }

    /// <summary>Null when every file the resume reads parses (JSON documents, safetensors headers); otherwise the first that does not.</summary>
    private static string? Parses(string checkpoint)
    {
        foreach (var required in new[] { TrainingCheckpoint.StateFile, PeftAdapter.ConfigFile, PeftAdapter.WeightsFile, TrainingCheckpoint.OptimizerFile })
        {
            if (!File.Exists(Path.Combine(checkpoint, required))) return $"{required} is missing";
        }
        foreach (var path in Directory.GetFiles(checkpoint))
        {
            var name = Path.GetFileName(path);
            try
            {
                if (name == TrainingCheckpoint.StateFile)
                {
                    if (JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path)) is null) return $"{name} is empty";
                }
                else if (name.EndsWith(".json", StringComparison.Ordinal))
                {
                    JsonNode.Parse(File.ReadAllText(path));
                }
                else if (name.EndsWith(".safetensors", StringComparison.Ordinal))
                {
                    SafetensorsHeader.Read(path); // Checks that every tensor lies within the file: a truncated one does not.
                }
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or IOException or ArgumentException or FormatException or NotSupportedException)
            {
                return $"{name} cannot be read ({e.Message})";
            }
        }
        return null;
    }

    private static void WriteManifest(string folder, long step, int epoch)
    {
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(name => name != ManifestFile)
            .Order(StringComparer.Ordinal)
            .Select(name => new CheckpointFile(name, new FileInfo(Path.Combine(folder, name)).Length, Sha256Of(Path.Combine(folder, name))))
            .ToList();
        File.WriteAllText(Path.Combine(folder, ManifestFile), JsonSerializer.Serialize(new CheckpointManifest(step, epoch, files), Indented));
    }

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    // Zero-padded step numbers: ordinal order is step order. Every finished folder is a candidate; Verify judges it.
    private IEnumerable<string> Candidates() =>
        Directory.Exists(directory)
            ? Directory.GetDirectories(directory, Prefix + "*")
                .Where(d => !d.EndsWith(PartialSuffix, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
            : [];
}

using System.Text.Json;
using DeepExtension.Core.HuggingFace;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Safetensors;

/// <summary>
/// The weights of a Hugging Face model folder: either one <c>{name}.safetensors</c> or shards listed by
/// <c>{name}.safetensors.index.json</c> (<c>{"metadata": {...}, "weight_map": {tensor: shard file}}</c>).
/// Shards are opened (memory-mapped) on first use; dispose to close them all.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    readonly string directory;
    readonly Dictionary<string, string> fileOf; // tensor name -> shard file name
    readonly Dictionary<string, SafetensorsFile> open = new(StringComparer.Ordinal);
    readonly Lock gate = new();

    /// <summary>Tensor names, sorted ordinally.</summary>
    public IReadOnlyList<string> Names { get; }
    /// <summary>The shard files, in name order (one for an unsharded checkpoint).</summary>
    public IReadOnlyList<string> Files { get; }

    SafetensorsCheckpoint(string directory, Dictionary<string, string> fileOf)
    {
        this.directory = directory;
        this.fileOf = fileOf;
        Names = fileOf.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        Files = fileOf.Values.Distinct().OrderBy(f => f, StringComparer.Ordinal).Select(f => System.IO.Path.Combine(directory, f)).ToList();
    }

    /// <summary>True when <paramref name="directory"/> holds <c>{baseName}.safetensors</c> or its shard index.</summary>
    public static bool Exists(string directory, string baseName = "model") =>
        File.Exists(System.IO.Path.Combine(directory, baseName + ".safetensors.index.json")) ||
        File.Exists(System.IO.Path.Combine(directory, baseName + ".safetensors"));

    /// <summary>
    /// Opens a checkpoint: <paramref name="path"/> is a .safetensors file, a .safetensors.index.json file, or a folder
    /// holding <c>{baseName}.safetensors.index.json</c> (preferred) or <c>{baseName}.safetensors</c>.
    /// </summary>
    public static SafetensorsCheckpoint Open(string path, string baseName = "model")
    {
        path = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(path))
        {
            string index = System.IO.Path.Combine(path, baseName + ".safetensors.index.json");
            string single = System.IO.Path.Combine(path, baseName + ".safetensors");
            if (File.Exists(index)) return OpenIndex(index);
            if (File.Exists(single)) return OpenSingle(single);
            throw new FileNotFoundException($"neither {baseName}.safetensors nor {baseName}.safetensors.index.json is in {path}");
        }
        if (path.EndsWith(".index.json", StringComparison.Ordinal)) return OpenIndex(path);
        return OpenSingle(path);
    }

    static SafetensorsCheckpoint OpenSingle(string file)
    {
        var st = SafetensorsFile.Open(file);
        string name = System.IO.Path.GetFileName(file);
        var checkpoint = new SafetensorsCheckpoint(System.IO.Path.GetDirectoryName(file)!, st.Names.ToDictionary(n => n, _ => name, StringComparer.Ordinal));
        checkpoint.open[name] = st;
        return checkpoint;
    }

    static SafetensorsCheckpoint OpenIndex(string indexFile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(indexFile));
        if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{indexFile} has no weight_map");
        var fileOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            string shard = entry.Value.GetString() ?? throw new InvalidDataException($"{indexFile}: {entry.Name} has no file");
            if (shard.Contains('/') || shard.Contains('\\') || shard.Contains(".."))
                throw new InvalidDataException($"{indexFile}: shard '{shard}' is not a file name");
            fileOf[entry.Name] = shard;
        }
        return new SafetensorsCheckpoint(System.IO.Path.GetDirectoryName(indexFile)!, fileOf);
    }

    public bool Contains(string name) => fileOf.ContainsKey(name);

    SafetensorsFile Shard(string name)
    {
        if (!fileOf.TryGetValue(name, out var file)) throw new KeyNotFoundException($"tensor '{name}' is not in the checkpoint in {directory}");
        lock (gate)
        {
            if (!open.TryGetValue(file, out var st))
            {
                st = SafetensorsFile.Open(System.IO.Path.Combine(directory, file));
                open[file] = st;
            }
            if (!st.Contains(name)) throw new InvalidDataException($"the index puts '{name}' in {file}, which does not hold it");
            return st;
        }
    }

    public SafetensorsTensorInfo Info(string name) => Shard(name).Info(name);

    /// <summary>Loads one tensor; see <see cref="SafetensorsFile.Load"/>.</summary>
    public Tensor Load(string name, ScalarType? dtype = null, Device? device = null) => Shard(name).Load(name, dtype, device);

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var st in open.Values) st.Dispose();
            open.Clear();
        }
    }
}

using System.Text.Json;
using DeepExtension.Jobs.Engine.Safetensors;
using TorchSharp;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Derives another reference set of the same layout from one (by default the bundled copy), to show that tests
/// written over <see cref="ReferenceModels.Folders"/> hold for any such set: every model folder is renamed
/// (<c>variant-1</c>, <c>variant-2</c>, … in name order) and its <c>model.safetensors</c> re-sharded into
/// <see cref="Shards"/> or more files with <c>model.safetensors.index.json</c>, as <c>save_pretrained</c> writes
/// large models. The tensors, and so every expected output in <c>reference.json</c> / <c>reference.safetensors</c>,
/// are unchanged. Tied embeddings need no variant of their own: the bundled set has a tied model (tiny-qwen2) and
/// an untied one (tiny-llama). <c>tools/reference-variant</c> runs this from the command line.
/// </summary>
public static class ReferenceSetVariant
{
    public const int Shards = 3;

    /// <summary>Writes the variant of <paramref name="source"/> into <paramref name="target"/> (created; must not
    /// hold model folders yet). Returns source folder name → variant folder name.</summary>
    public static IReadOnlyDictionary<string, string> Write(string source, string target)
    {
        var models = Directory.GetDirectories(source)
            .Where(d => File.Exists(Path.Combine(d, "config.json")))
            .OrderBy(d => d, StringComparer.Ordinal)
            .ToList();
        if (models.Count == 0) throw new InvalidOperationException($"{source} holds no model folder.");
        Directory.CreateDirectory(target);
        if (Directory.GetDirectories(target).Length > 0) throw new InvalidOperationException($"{target} is not empty.");

        // Files beside the model folders (chat-templates.json, README.md) belong to the set.
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < models.Count; i++)
        {
            var name = $"variant-{i + 1}";
            var folder = Path.Combine(target, name);
            CopyDirectory(models[i], folder);
            Reshard(folder);
            names[Path.GetFileName(models[i])] = name;
        }
        return names;
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        foreach (var directory in Directory.GetDirectories(source)) CopyDirectory(directory, Path.Combine(destination, Path.GetFileName(directory)));
    }

    /// <summary>Replaces the folder's single weights file by shards and an index (nothing to do when already sharded).</summary>
    public static void Reshard(string folder)
    {
        var single = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(single)) return;
        using (var scope = torch.NewDisposeScope())
        {
            IReadOnlyList<KeyValuePair<string, torch.Tensor>> tensors;
            using (var file = SafetensorsFile.Open(single))
            {
                tensors = file.Names.Order(StringComparer.Ordinal).Select(n => KeyValuePair.Create(n, file.Load(n))).ToList();
            }
            var total = tensors.Sum(t => t.Value.numel() * t.Value.element_size());
            File.Delete(single);
            SafetensorsWriter.SaveCheckpoint(folder, tensors, maxShardBytes: total / Shards + 1);
        }
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "model.safetensors.index.json")));
        var shards = index.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()).Distinct().Count();
        if (shards < 2) throw new InvalidOperationException($"{folder}: the weights did not split into shards.");
    }
}

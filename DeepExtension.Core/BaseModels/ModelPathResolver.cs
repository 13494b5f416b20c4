namespace DeepExtension.Core.BaseModels;

/// <summary>
/// Turns a user-entered model path into a folder under the models root, refusing anything that could
/// reach outside it: absolute paths, ".." segments, and symbolic links that lead elsewhere.
/// </summary>
public sealed class ModelPathResolver(string modelsRoot)
{
    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelsRoot));

    public string ModelsRoot => _root;

    /// <summary>The path in the canonical stored form ("org/model"), or an error message.</summary>
    public static (string? Normalized, string? Error) Normalize(string? input)
    {
        var path = (input ?? "").Trim();
        if (path.Length == 0) return (null, "The model path is required.");
        if (path.Length > 400) return (null, "The model path is too long (at most 400 characters).");
        if (path.IndexOfAny(['\0', '\r', '\n', '\t']) >= 0) return (null, "The model path contains control characters.");

        path = path.Replace('\\', '/');
        if (Path.IsPathRooted(path) || path.StartsWith('/') || (path.Length >= 2 && path[1] == ':') || path.StartsWith('~'))
        {
            return (null, "The model path must be relative to the models root, not absolute.");
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToList();
        if (segments.Any(s => s == ".."))
        {
            return (null, "The model path may not contain \"..\": it must stay inside the models root.");
        }
        if (segments.Count == 0)
        {
            return (null, "The model path must name a folder inside the models root, not the root itself.");
        }
        return (string.Join('/', segments), null);
    }

    /// <summary>The absolute folder for a normalized path, after checking that no link leads out of the root.</summary>
    public (string? Folder, string? Error) Resolve(string normalizedPath)
    {
        var folder = Path.GetFullPath(Path.Combine(_root, normalizedPath));
        if (!IsUnder(folder, _root))
        {
            return (null, "The model path leads outside the models root.");
        }
        if (!Directory.Exists(folder))
        {
            return (null, $"No folder \"{normalizedPath}\" under the models root ({_root}).");
        }

        var realRoot = RealPath(_root);
        var realFolder = RealPath(folder);
        if (!IsUnder(realFolder, realRoot))
        {
            return (null, "The model path is a symbolic link that leads outside the models root.");
        }
        return (folder, null);
    }

    /// <summary>
    /// The folder of a registered model, checked again each time it is used (a train, the worker loading it, a save, a
    /// deploy, an evaluation): the folder may have been replaced by a link since it was registered. Null Folder: the
    /// reason it may not be used, naming the model.
    /// </summary>
    public (string? Folder, string? Error) ResolveRegistered(string technicalName, string storedPath)
    {
        var (normalized, pathError) = Normalize(storedPath);
        var (folder, error) = pathError is null ? Resolve(normalized!) : (null, pathError);
        if (error is null)
        {
            var weights = Directory.EnumerateFiles(folder!, "*.safetensors").Append(Path.Combine(folder!, ModelCardReader.ConfigFile));
            var escaping = weights.Where(f => File.Exists(f) && !FileStaysInsideRoot(f)).Select(Path.GetFileName).ToList();
            if (escaping.Count > 0) error = $"{string.Join(", ", escaping)} link(s) to a file outside the models root.";
        }
        return error is null ? (folder, null) : (null, $"The folder of base model {technicalName} ({storedPath}) cannot be used: {error}");
    }

    /// <summary>
    /// The folder a new model (a Hub download) will be written to, for a normalized path: inside the root also through
    /// links on the way (a parent folder may be a link), and not taken yet. Null Folder: why not.
    /// </summary>
    public (string? Folder, string? Error) ResolveNew(string normalizedPath)
    {
        var folder = Path.GetFullPath(Path.Combine(_root, normalizedPath));
        if (!IsUnder(folder, _root) || !IsUnder(RealPath(folder), RealPath(_root))) return (null, "The folder must stay inside the models root.");
        return Directory.Exists(folder) || File.Exists(folder)
            ? (null, $"The models root already has {normalizedPath}; choose another folder, or register that one with Add.")
            : (folder, null);
    }

    /// <summary>Whether a file inside a model folder (which may be a link, as in the Hugging Face cache) stays under the root.</summary>
    public bool FileStaysInsideRoot(string file) => IsUnder(RealPath(file), RealPath(_root));

    private static bool IsUnder(string path, string root) =>
        path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Resolves every symbolic link along the path, like realpath(3).</summary>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        var pending = new Queue<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        var hops = 0;
        while (pending.Count > 0)
        {
            var next = Path.Combine(current, pending.Dequeue());
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++hops > 40) throw new IOException($"Too many levels of symbolic links at {next}.");
                var resolved = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target));
                var rest = pending.ToArray();
                var resolvedRoot = Path.GetPathRoot(resolved)!;
                pending = new Queue<string>(resolved[resolvedRoot.Length..]
                    .Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(rest));
                current = resolvedRoot;
                continue;
            }
            current = next;
        }
        return Path.TrimEndingDirectorySeparator(current);
    }
}

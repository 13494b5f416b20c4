namespace DeepExtension.Tests.Support;

/// <summary>
/// The Hugging Face reference models (ground truth produced by transformers/PEFT). Tests run over every
/// folder of the directory, so DEEPX_REFERENCE_MODELS can point them at another set of the same layout.
/// </summary>
public static class ReferenceModels
{
    public const string DirectoryVariable = "DEEPX_REFERENCE_MODELS";

    /// <summary>The project's own copy (tiny-qwen2: tied embeddings; tiny-llama: untied), used unless told otherwise.</summary>
    public static string BundledRoot => Path.Combine(AppContext.BaseDirectory, "TestData", "reference-models");

    public static string Root =>
        Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } custom
            ? Path.GetFullPath(custom)
            : BundledRoot;

    /// <summary>Every model folder (a folder holding config.json) under <see cref="Root"/>.</summary>
    public static IReadOnlyList<string> Folders =>
        Directory.GetDirectories(Root)
            .Where(d => File.Exists(Path.Combine(d, "config.json")))
            .OrderBy(d => d, StringComparer.Ordinal)
            .ToList();

    /// <summary>xunit member data: one row per model folder name.</summary>
    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var folder in Folders) data.Add(Path.GetFileName(folder));
            return data;
        }
    }

    public static string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>The project's own copy, for tests that need one particular model whatever DEEPX_REFERENCE_MODELS says.</summary>
    public static string BundledPathOf(string name) => Path.Combine(BundledRoot, name);

    public static string ChatTemplatesFile => Path.Combine(Root, "chat-templates.json");
}

using DeepExtension.Core.Datasets;

namespace DeepExtension.Tests.Support;

/// <summary>Writes dataset files to a scratch folder and inspects them from disk.</summary>
public static class DatasetFiles
{
    public static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";

    public static string WriteTemp(string fileName, string content)
    {
        var dir = Path.Combine(Path.GetTempPath(), "deepx-tests", "datasets-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, fileName);
        File.WriteAllText(path, content);
        return path;
    }

    public static async Task<DatasetInspection> InspectAsync(string fileName, string content, DatasetFormat? format = null, int previewRows = 5)
    {
        var path = WriteTemp(fileName, content);
        try
        {
            await using var stream = File.OpenRead(path);
            return await DatasetValidator.InspectAsync(stream, fileName, format, previewRows);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    public static async Task<List<DatasetExample>> ReadAsync(string fileName, string content, DatasetFormat format)
    {
        var path = WriteTemp(fileName, content);
        try
        {
            await using var stream = File.OpenRead(path);
            var examples = new List<DatasetExample>();
            await foreach (var example in DatasetReader.ReadAsync(stream, DatasetValidator.FileTypeOf(fileName)!.Value, format)) examples.Add(example);
            return examples;
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}

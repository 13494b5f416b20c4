using System.Security.Cryptography;
using DeepExtension.Core.Datasets;
using DeepExtension.Tests.Support;
using static DeepExtension.Tests.Support.DatasetFiles;

namespace DeepExtension.Tests.Core;

public class DatasetServiceTests
{
    private static readonly string AlpacaV1 = Lines(
        """{"instruction":"Add","input":"2+2","output":"4"}""",
        """{"instruction":"Greet","output":"Hi"}""");

    private static readonly string AlpacaV2 = AlpacaV1 + Lines("""{"instruction":"Part","output":"Bye"}""");

    private static async Task<DatasetUploadResult> CreateAsync(TestEnvironment env, string name, string fileName, string content, int percent = 0)
    {
        var path = env.WriteFile(fileName, content);
        await using var stream = File.OpenRead(path);
        var result = await env.Datasets.CreateAsync(name, null, new DatasetUpload(stream, fileName, ValidationPercent: percent));
        Assert.True(result.Succeeded, result.AllErrors);
        return result.Value!;
    }

    private static async Task<DeepExtension.Core.Common.OperationResult<DatasetUploadResult>> AddVersionAsync(TestEnvironment env, Guid id, string fileName, string content)
    {
        var path = env.WriteFile(fileName, content);
        await using var stream = File.OpenRead(path);
        return await env.Datasets.AddVersionAsync(id, new DatasetUpload(stream, fileName));
    }

    private static string[] StoredFiles(TestEnvironment env) =>
        Directory.GetFiles(env.Directories.Datasets, "*", SearchOption.AllDirectories);

    [Fact]
    public async Task Create_ValidJsonl_StoresVersionOneReadOnlyUnderItsHash()
    {
        await using var env = await TestEnvironment.CreateAsync();

        var result = await CreateAsync(env, "Support answers", "support.jsonl", AlpacaV1);

        Assert.True(result.IsNew);
        var dataset = Assert.Single(await env.Datasets.ListAsync());
        Assert.Equal("Support answers", dataset.Name);
        var version = Assert.Single(dataset.Versions);
        var sha = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(AlpacaV1)));
        Assert.Equal(1, version.VersionNumber);
        Assert.Equal(sha, version.ContentSha256);
        Assert.Equal($"{dataset.Id:N}/v1-{sha[..12]}.jsonl", version.StoredPath);
        Assert.Equal(DatasetFormat.Alpaca, version.Format);
        Assert.Equal(DatasetKind.Sft, version.Kind);
        Assert.Equal(DatasetFileType.Jsonl, version.FileType);
        Assert.Equal(2, version.RowCount);
        Assert.Equal("support.jsonl", version.OriginalFileName);

        var file = env.Datasets.FullPathOf(version.StoredPath);
        Assert.Equal(AlpacaV1, await File.ReadAllTextAsync(file));
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file))));
        Assert.Equal(version.SizeBytes, new FileInfo(file).Length);
        Assert.True((File.GetAttributes(file) & FileAttributes.ReadOnly) != 0);
        Assert.Single(StoredFiles(env));
    }

    [Fact]
    public async Task Create_JsonFileHoldingJsonLines_IsStoredAsJsonlAndReadBack()
    {
        await using var env = await TestEnvironment.CreateAsync();

        var version = (await CreateAsync(env, "export", "export.json", AlpacaV1)).Version;

        Assert.Equal(DatasetFileType.Jsonl, version.FileType);
        Assert.EndsWith(".jsonl", version.StoredPath);
        Assert.Equal("export.json", version.OriginalFileName);
        Assert.Equal(2, (await env.Datasets.PreviewAsync(version)).Count);
    }

    [Fact]
    public async Task AddVersion_IdenticalThenChangedFile_ReusesVersionOneThenCreatesVersionTwo()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var created = await CreateAsync(env, "support", "support.jsonl", AlpacaV1);

        var identical = await AddVersionAsync(env, created.Dataset.Id, "renamed.jsonl", AlpacaV1);

        Assert.True(identical.Succeeded, identical.AllErrors);
        Assert.False(identical.Value!.IsNew);
        Assert.Equal(1, identical.Value.Version.VersionNumber);
        Assert.Contains("identical to version 1", identical.Value.Message);
        Assert.Single((await env.Datasets.GetAsync(created.Dataset.Id))!.Versions);

        var changed = await AddVersionAsync(env, created.Dataset.Id, "support.jsonl", AlpacaV2);

        Assert.True(changed.Succeeded, changed.AllErrors);
        Assert.True(changed.Value!.IsNew);
        var versions = (await env.Datasets.GetAsync(created.Dataset.Id))!.Versions;
        Assert.Equal([1, 2], versions.Select(v => v.VersionNumber));
        Assert.Equal(3, versions[1].RowCount);
        Assert.NotEqual(versions[0].ContentSha256, versions[1].ContentSha256);
        Assert.Equal(2, StoredFiles(env).Length);
        Assert.Equal(AlpacaV1, await File.ReadAllTextAsync(env.Datasets.FullPathOf(versions[0].StoredPath)));
        Assert.All(StoredFiles(env), f => Assert.True((File.GetAttributes(f) & FileAttributes.ReadOnly) != 0));
    }

    [Fact]
    public async Task Create_InvalidFile_ReportsLineNumberedErrorsAndLeavesNoFileAndNoRow()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.WriteFile("bad.jsonl", Lines("""{"instruction":"a","output":"b"}""", """{"instruction":"a"}""", "not json"));
        await using var stream = File.OpenRead(path);

        var result = await env.Datasets.CreateAsync("bad", null, new DatasetUpload(stream, "bad.jsonl"));

        Assert.False(result.Succeeded);
        var errors = result.ErrorsFor(DatasetService.FileField).ToList();
        Assert.Equal("line 2: missing \"output\"", errors[0]);
        Assert.StartsWith("line 3: invalid JSON", errors[1]);
        Assert.Empty(await env.Datasets.ListAsync());
        Assert.Empty(StoredFiles(env));
        Assert.All(Directory.GetDirectories(env.Directories.Datasets), d => Assert.Equal(".incoming", Path.GetFileName(d)));
    }

    [Fact]
    public async Task AddVersion_InvalidFile_KeepsTheExistingVersionsAndFilesOnly()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var created = await CreateAsync(env, "support", "support.jsonl", AlpacaV1);

        var result = await AddVersionAsync(env, created.Dataset.Id, "support.jsonl", AlpacaV1 + "{oops\n");

        Assert.False(result.Succeeded);
        Assert.StartsWith("line 3: invalid JSON", result.ErrorsFor(DatasetService.FileField).Single());
        Assert.Single((await env.Datasets.GetAsync(created.Dataset.Id))!.Versions);
        Assert.Single(StoredFiles(env));
    }

    [Fact]
    public async Task Create_NameTakenInAnotherCase_IsRefusedBeforeReadingTheFile()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await CreateAsync(env, "Support", "support.jsonl", AlpacaV1);
        var path = env.WriteFile("other.jsonl", AlpacaV2);
        await using var stream = File.OpenRead(path);

        var result = await env.Datasets.CreateAsync(" SUPPORT ", null, new DatasetUpload(stream, "other.jsonl"));

        Assert.False(result.Succeeded);
        Assert.Contains("already used by another dataset", string.Join(" ", result.ErrorsFor(DatasetService.NameField)));
        Assert.Equal(0, stream.Position);
        Assert.Single(StoredFiles(env));
    }

    [Theory]
    [InlineData(51)]
    [InlineData(-1)]
    public async Task Create_ValidationPercentOutOfRange_IsRefused(int percent)
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var stream = File.OpenRead(env.WriteFile("a.jsonl", AlpacaV1));

        var result = await env.Datasets.CreateAsync("a", null, new DatasetUpload(stream, "a.jsonl", ValidationPercent: percent));

        Assert.Equal("The validation share must be between 0 and 50 %.", result.ErrorsFor(DatasetService.ValidationField).Single());
    }

    [Fact]
    public async Task Create_WithValidationFile_StoresItWithItsOwnHashAndReadsItAsTheValidationPart()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var validationContent = "instruction,output\nq1,a1\nq2,a2\nq3,a3\n";
        await using var main = File.OpenRead(env.WriteFile("train.jsonl", AlpacaV1));
        await using var validation = File.OpenRead(env.WriteFile("val.csv", validationContent));

        var result = await env.Datasets.CreateAsync("with-val", "held out", new DatasetUpload(main, "train.jsonl",
            ValidationContent: validation, ValidationFileName: "val.csv"));

        Assert.True(result.Succeeded, result.AllErrors);
        var version = result.Value!.Version;
        Assert.Equal("val.csv", version.ValidationOriginalFileName);
        Assert.Equal(3, version.ValidationRowCount);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(validationContent))), version.ValidationSha256);
        Assert.EndsWith(".csv", version.ValidationStoredPath);
        Assert.True((File.GetAttributes(env.Datasets.FullPathOf(version.ValidationStoredPath!)) & FileAttributes.ReadOnly) != 0);

        var train = await ToListAsync(env.Datasets.ReadAsync(version, DatasetPart.Train));
        var held = await ToListAsync(env.Datasets.ReadAsync(version, DatasetPart.Validation));
        Assert.Equal(2, train.Count);
        Assert.Equal(["q1", "q2", "q3"], held.Cast<SftExample>().Select(e => e.Messages[0].Content));
    }

    [Fact]
    public async Task Create_ValidationFileInAnotherLayout_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var main = File.OpenRead(env.WriteFile("train.jsonl", AlpacaV1));
        await using var validation = File.OpenRead(env.WriteFile("val.jsonl", Lines("""{"prompt":"q","answer":"a"}""")));

        var result = await env.Datasets.CreateAsync("x", null, new DatasetUpload(main, "train.jsonl", ValidationContent: validation, ValidationFileName: "val.jsonl"));

        Assert.False(result.Succeeded);
        Assert.Contains("val.jsonl: line 1: this row is in the Prompt + answer layout", string.Join(" ", result.ErrorsFor(DatasetService.ValidationField)));
        Assert.Empty(StoredFiles(env));
    }

    [Fact]
    public async Task ReadAsync_PercentSplit_IsDeterministicDisjointAndComplete()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var content = Lines(Enumerable.Range(0, 200).Select(i => $$"""{"prompt":"q{{i}}","answer":"{{i}}"}""").ToArray());
        var version = (await CreateAsync(env, "grpo", "grpo.jsonl", content, percent: 20)).Version;

        var train = (await ToListAsync(env.Datasets.ReadAsync(version, DatasetPart.Train))).Select(e => e.Index).ToList();
        var validation = (await ToListAsync(env.Datasets.ReadAsync(version, DatasetPart.Validation))).Select(e => e.Index).ToList();
        var again = (await ToListAsync(env.Datasets.ReadAsync(version, DatasetPart.Validation))).Select(e => e.Index).ToList();

        Assert.Equal(validation, again);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), train.Concat(validation).Order());
        Assert.InRange(validation.Count, 20, 60);
        Assert.All(await ToListAsync(env.Datasets.ReadAsync(version)), e => Assert.IsType<PromptAnswerExample>(e));
    }

    [Fact]
    public async Task Delete_Dataset_RemovesItsRowsAndFiles()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var created = await CreateAsync(env, "support", "support.jsonl", AlpacaV1);
        Assert.True((await AddVersionAsync(env, created.Dataset.Id, "support.jsonl", AlpacaV2)).Succeeded);

        var result = await env.Datasets.DeleteAsync(created.Dataset.Id);

        Assert.True(result.Succeeded);
        Assert.Empty(await env.Datasets.ListAsync());
        Assert.Empty(StoredFiles(env));
        Assert.False((await env.Datasets.DeleteAsync(created.Dataset.Id)).Succeeded);
    }

    [Fact]
    public async Task Preview_StoredVersion_ReturnsTheFirstRowsNormalised()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var version = (await CreateAsync(env, "support", "support.jsonl", AlpacaV2)).Version;

        var preview = await env.Datasets.PreviewAsync(version, rows: 2);

        Assert.Equal(2, preview.Count);
        Assert.Equal("Add\n\n2+2", ((SftExample)preview[0]).Messages[0].Content);
    }

    [Fact]
    public async Task DeleteStaleIncomingFiles_AbandonedAndFreshUploads_RemovesOnlyTheAbandoned()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var abandoned = env.Datasets.NewIncomingFilePath("old.jsonl");
        var fresh = env.Datasets.NewIncomingFilePath("new.jsonl");
        await File.WriteAllTextAsync(abandoned, "{}");
        await File.WriteAllTextAsync(fresh, "{}");
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddDays(-2));

        var deleted = env.Datasets.DeleteStaleIncomingFiles(TimeSpan.FromDays(1));

        Assert.Equal(1, deleted);
        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(fresh));
    }

    private static async Task<List<DatasetExample>> ToListAsync(IAsyncEnumerable<DatasetExample> examples)
    {
        var list = new List<DatasetExample>();
        await foreach (var example in examples) list.Add(example);
        return list;
    }
}

using DeepExtension.Jobs.Saving;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Work;

/// <summary>The one merge path: a shell's <c>merge --model --adapter --out</c>, a deployment's merge and a Save all go through <see cref="ModelMerge"/>.</summary>
[Collection(TorchCollection.Name)]
public class ModelMergeTests
{
    private static string BaseFolder => ReferenceModels.BundledPathOf("tiny-qwen2");
    private static string AdapterFolder => Path.Combine(BaseFolder, "adapter");

    [Fact]
    public void Run_ReferenceAdapter_WritesTheFolderUnderItsNameAndNoPartialStays()
    {
        using var temp = new TempDirectory();
        var output = Path.Combine(temp.Path, "merged");

        var files = ModelMerge.Run(BaseFolder, AdapterFolder, output);

        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        Assert.False(Directory.Exists(output + ".partial"));
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.True(File.Exists(f), f));
    }

    [Fact]
    public void Run_OutputAlreadyHoldsFiles_IsRefusedAndLeavesThemAlone()
    {
        using var temp = new TempDirectory();
        var output = Path.Combine(temp.Path, "merged");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");

        var error = Assert.Throws<InvalidOperationException>(() => ModelMerge.Run(BaseFolder, AdapterFolder, output));

        Assert.Contains("already exists", error.Message);
        Assert.Equal(["keep.txt"], Directory.GetFiles(output).Select(Path.GetFileName));
        Assert.False(Directory.Exists(output + ".partial"));
    }

    [Fact]
    public void Run_CorruptedAdapter_LeavesNeitherTheOutputNorItsPartialFolder()
    {
        using var temp = new TempDirectory();
        var adapter = Path.Combine(temp.Path, "adapter");
        TestEnvironment.CopyDirectory(AdapterFolder, adapter);
        File.WriteAllText(Path.Combine(adapter, "adapter_model.safetensors"), "not a safetensors file");
        var output = Path.Combine(temp.Path, "merged");

        Assert.ThrowsAny<Exception>(() => ModelMerge.Run(BaseFolder, adapter, output));

        Assert.False(Directory.Exists(output));
        Assert.False(Directory.Exists(output + ".partial"));
    }

    [Fact]
    public async Task Main_MergeWithSaveButNoId_IsTheSaveFormAndReportsItsUsage()
    {
        Assert.Equal(DeepExtension.Jobs.Work.WorkerExit.Usage, await DeepExtension.Jobs.Program.Main(["merge", "--save", "not-a-guid"]));
        Assert.Equal(DeepExtension.Jobs.Work.WorkerExit.Usage, await DeepExtension.Jobs.Program.Main(["merge-save", "--save"]));
    }
}

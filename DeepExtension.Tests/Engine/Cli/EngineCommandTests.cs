using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Support;
using TorchSharp;
using JobsProgram = DeepExtension.Jobs.Program;

namespace DeepExtension.Tests.Engine.Cli;

[CollectionDefinition(nameof(ConsoleCapture), DisableParallelization = true)]
public sealed class ConsoleCapture;

/// <summary>The <c>generate</c> and <c>merge</c> commands, run in-process through Program.Main with Console captured.</summary>
[Collection(nameof(ConsoleCapture))]
public class EngineCommandTests
{
    static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = await JobsProgram.Main(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    /// <summary>What greedy generation through the engine's API gives for the same chat.</summary>
    static string Expected(string modelDir, string? adapterDir, string system, string prompt, int maxNew)
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = HfTokenizer.Load(modelDir);
        var template = ChatTemplate.Load(modelDir);
        var ids = tokenizer.Encode(template.Render([new ChatMessage("system", system), new ChatMessage("user", prompt)], addGenerationPrompt: true))
            .Select(i => (long)i).ToArray();
        using var lm = ForCausalLM.FromPretrained(modelDir);
        if (adapterDir is not null) PeftAdapter.Load(lm, adapterDir);
        var stop = lm.Config.EosTokenIds.Append(tokenizer.EosTokenId!.Value).ToArray();
        var result = TextGenerator.Generate(lm, ids, new GenerationOptions { MaxNewTokens = maxNew, Temperature = 0, StopTokenIds = stop });
        return tokenizer.Decode(result.TokenIds.Select(i => (int)i), skipSpecialTokens: true);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public async Task Generate_StreamsTheGreedyReply_WithAndWithoutAdapter(string model)
    {
        string dir = ReferenceModels.PathOf(model);
        string adapter = LoraParityTests.AdapterOf(model);
        foreach (var adapterDir in new[] { null, adapter })
        {
            var args = new List<string> { "generate", "--model", dir, "--prompt", "Hello there", "--system", "Be brief.", "--max-new-tokens", "10", "--temperature", "0" };
            if (adapterDir is not null) args.AddRange(["--adapter", adapterDir]);
            var (code, stdout, stderr) = await Run([.. args]);
            Assert.True(code == 0, stderr);
            Assert.Equal(Expected(dir, adapterDir, "Be brief.", "Hello there", 10) + Environment.NewLine, stdout);
        }
        var (bf16Code, bf16Out, bf16Err) = await Run("generate", "--model", dir, "--prompt", "Hi", "--dtype", "bfloat16", "--max-new-tokens", "4", "--temperature", "0.8", "--top-p", "0.9");
        Assert.True(bf16Code == 0, bf16Err);
        Assert.NotEmpty(bf16Out);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public async Task Merge_WritesAFolderThatGeneratesLikeBasePlusAdapter(string model)
    {
        using var temp = new TempDirectory();
        string dir = ReferenceModels.PathOf(model);
        string adapter = LoraParityTests.AdapterOf(model);
        string outDir = Path.Combine(temp.Path, "merged");
        var (code, stdout, stderr) = await Run("merge", "--model", dir, "--adapter", adapter, "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("merged", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(outDir, "chat_template.jinja")));

        var merged = await Run("generate", "--model", outDir, "--prompt", "Tell me", "--max-new-tokens", "12", "--temperature", "0");
        var withAdapter = await Run("generate", "--model", dir, "--adapter", adapter, "--prompt", "Tell me", "--max-new-tokens", "12", "--temperature", "0");
        Assert.Equal(0, merged.Code);
        Assert.Equal(withAdapter.Out, merged.Out);
    }

    [Fact]
    public async Task Mistakes_AreReported()
    {
        string dir = ReferenceModels.Folders[0];
        Assert.Equal(2, (await Run("generate", "--model", dir)).Code);                                      // no --prompt
        Assert.Equal(2, (await Run("generate", "--model", dir, "--prompt", "x", "--dtype", "int8")).Code);
        Assert.Equal(2, (await Run("generate", "--model", dir, "--prompt", "x", "--bogus", "1")).Code);
        Assert.Equal(2, (await Run("merge", "--model", dir, "--adapter", dir)).Code);                      // no --out
        var missing = await Run("merge", "--model", dir, "--adapter", Path.Combine(dir, "nope"), "--out", Path.Combine(Path.GetTempPath(), "deepx-never"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("adapter_config.json", missing.Err);
        var usage = await Run("--help");
        Assert.Contains("generate --model DIR", usage.Err);
        Assert.Contains("scheduler", usage.Err);
    }
}

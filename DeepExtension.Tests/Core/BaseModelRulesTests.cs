using DeepExtension.Core.BaseModels;

namespace DeepExtension.Tests.Core;

public class BaseModelRulesTests
{
    [Theory]
    [InlineData("qwen2")]
    [InlineData("Qwen2.5-0.5B")]
    [InlineData("llama_3.2-1b")]
    [InlineData("a")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void TechnicalNameValidate_ShortPlainName_IsAccepted(string name) =>
        Assert.Null(TechnicalName.Validate(name));

    [Theory]
    [InlineData("", "required")]
    [InlineData("   ", "required")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456", "at most 32")]
    [InlineData("qwen 2", "letters, digits")]
    [InlineData("../etc", "letters, digits")]
    [InlineData("qwen/2", "letters, digits")]
    [InlineData("-qwen", "starting and ending")]
    [InlineData("qwen.", "starting and ending")]
    [InlineData("qwén", "letters, digits")]
    public void TechnicalNameValidate_UnsafeName_IsRefusedWithReason(string name, string reason) =>
        Assert.Contains(reason, TechnicalName.Validate(name));

    [Theory]
    [InlineData("qwen2", "qwen2")]
    [InlineData("  hf/qwen2  ", "hf/qwen2")]
    [InlineData("hf\\qwen2", "hf/qwen2")]
    [InlineData("./hf//qwen2/", "hf/qwen2")]
    public void PathNormalize_RelativePath_IsCanonical(string input, string expected) =>
        Assert.Equal(expected, ModelPathResolver.Normalize(input).Normalized);

    [Theory]
    [InlineData("", "required")]
    [InlineData("/etc/models", "relative")]
    [InlineData("C:\\models", "relative")]
    [InlineData("~/models", "relative")]
    [InlineData("../outside", "..")]
    [InlineData("hf/../../outside", "..")]
    [InlineData(".", "not the root")]
    public void PathNormalize_EscapingOrEmptyPath_IsRefused(string input, string reason)
    {
        var (normalized, error) = ModelPathResolver.Normalize(input);
        Assert.Null(normalized);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void PathResolve_SymlinkLeadingOutOfRoot_IsRefused()
    {
        var sandbox = Directory.CreateTempSubdirectory("deepx-paths").FullName;
        try
        {
            var root = Directory.CreateDirectory(Path.Combine(sandbox, "models")).FullName;
            var outside = Directory.CreateDirectory(Path.Combine(sandbox, "elsewhere", "model")).FullName;
            Directory.CreateDirectory(Path.Combine(root, "inside"));
            Directory.CreateSymbolicLink(Path.Combine(root, "escape"), Path.Combine(sandbox, "elsewhere"));
            Directory.CreateSymbolicLink(Path.Combine(root, "alias"), Path.Combine(root, "inside"));
            var resolver = new ModelPathResolver(root);

            var (escaped, escapeError) = resolver.Resolve("escape/model");
            var (aliased, aliasError) = resolver.Resolve("alias");

            Assert.Null(escaped);
            Assert.Contains("symbolic link", escapeError);
            Assert.True(Directory.Exists(outside));
            Assert.Null(aliasError);
            Assert.Equal(Path.Combine(root, "alias"), aliased);
        }
        finally
        {
            Directory.Delete(sandbox, recursive: true);
        }
    }

    [Fact]
    public void PathResolveNew_ParentLinkLeadingOutOfRootOrTakenFolder_IsRefused()
    {
        var sandbox = Directory.CreateTempSubdirectory("deepx-paths").FullName;
        try
        {
            var root = Directory.CreateDirectory(Path.Combine(sandbox, "models")).FullName;
            Directory.CreateDirectory(Path.Combine(sandbox, "elsewhere"));
            Directory.CreateDirectory(Path.Combine(root, "Qwen", "taken"));
            Directory.CreateSymbolicLink(Path.Combine(root, "escape"), Path.Combine(sandbox, "elsewhere"));
            var resolver = new ModelPathResolver(root);

            Assert.Equal((Path.Combine(root, "Qwen", "new-model"), null), resolver.ResolveNew("Qwen/new-model"));
            Assert.Equal("The folder must stay inside the models root.", resolver.ResolveNew("escape/new-model").Error);
            Assert.Contains("already has Qwen/taken", resolver.ResolveNew("Qwen/taken").Error);
        }
        finally
        {
            Directory.Delete(sandbox, recursive: true);
        }
    }

    [Fact]
    public void PathResolve_MissingFolder_NamesTheModelsRoot()
    {
        var root = Directory.CreateTempSubdirectory("deepx-paths").FullName;
        try
        {
            var (_, error) = new ModelPathResolver(root).Resolve("nope");
            Assert.Contains(root, error);
        }
        finally
        {
            Directory.Delete(root);
        }
    }

    [Fact]
    public void DeploymentTemplateParse_BareTemplate_IsKeptAsIs()
    {
        const string template = "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n";
        var (parsed, error) = DeploymentTemplate.Parse(template);
        Assert.Null(error);
        Assert.Equal(template, parsed);
    }

    [Fact]
    public void DeploymentTemplateParse_WholeModelfile_KeepsOnlyTheTemplate()
    {
        const string modelfile = "FROM ./model\nPARAMETER stop \"<|im_end|>\"\nTEMPLATE \"\"\"{{ range .Messages }}{{ .Content }}{{ end }}\"\"\"\nSYSTEM \"be brief\"\n";
        var (parsed, error) = DeploymentTemplate.Parse(modelfile);
        Assert.Null(error);
        Assert.Equal("{{ range .Messages }}{{ .Content }}{{ end }}", parsed);
    }

    [Theory]
    [InlineData("FROM ./model\nPARAMETER temperature 0.1\n", "no TEMPLATE")]
    [InlineData("{{ .Prompt }", "unbalanced")]
    [InlineData("Hello {{ .System }}", "never uses .Prompt or .Messages")]
    public void DeploymentTemplateParse_UnusableTemplate_ExplainsWhy(string content, string reason) =>
        Assert.Contains(reason, DeploymentTemplate.Parse(content).Error);

    [Fact]
    public void DeploymentTemplateParse_Blank_MeansNoTemplate() =>
        Assert.Equal((null, null), DeploymentTemplate.Parse("  \n "));
}

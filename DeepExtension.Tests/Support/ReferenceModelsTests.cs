namespace DeepExtension.Tests.Support;

public class ReferenceModelsTests
{
    [Fact]
    public void Folders_DefaultDirectory_ContainsTheCopiedReferenceModels()
    {
        Assert.Contains(ReferenceModels.Folders, f => Path.GetFileName(f) == "tiny-qwen2");
        Assert.True(File.Exists(ReferenceModels.ChatTemplatesFile));
    }
}

using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class ModelLifetimeTests
{
    [Fact]
    public void ModelLoadedInsideADisposeScope_SurvivesTheScope()
    {
        string folder = ReferenceModels.Folders[0];
        ForCausalLM lm;
        using (torch.NewDisposeScope())
        {
            lm = ForCausalLM.FromPretrained(folder);
        }
        using (lm)
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var logits = lm.forward(torch.tensor(new long[] { 1, 2, 3 }).unsqueeze(0));
            Assert.Equal(3, logits.shape[1]);
            Assert.False(logits.isnan().any().item<bool>());
        }
    }
}

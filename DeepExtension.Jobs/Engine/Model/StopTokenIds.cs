using DeepExtension.Core.HuggingFace;
using DeepExtension.Jobs.Engine.Tokenization;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>The token ids a model's generation ends at, wherever it generates (the <c>generate</c> command, GRPO sampling).</summary>
public static class StopTokenIds
{
    /// <summary>
    /// config.json's <c>eos_token_id</c>, generation_config.json's (models like Llama 3 end turns with a token other
    /// than their eos_token) and the tokenizer's eos_token, without repeats.
    /// </summary>
    public static IReadOnlyCollection<long> Of(string modelDirectory, HfTokenizer tokenizer)
    {
        var ids = new List<long>(ModelConfig.Load(modelDirectory).EosTokenIds);
        ids.AddRange(SpecialTokens.Read(modelDirectory).GenerationEosTokenIds.Select(id => (long)id));
        if (tokenizer.EosTokenId is { } eos) ids.Add(eos);
        return ids.Distinct().ToList();
    }
}

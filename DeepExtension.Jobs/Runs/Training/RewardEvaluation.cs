using DeepExtension.Jobs.Engine.Generation;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// How GRPO and PPO evaluate on the validation split: greedy completions of its prompts (one batched generation per
/// chunk, so the number does not depend on sampling), scored by the run's reward functions against the reference
/// answers; the mean is the run's <c>eval_reward</c>.
/// </summary>
public static class RewardEvaluation
{
    /// <summary>The summed reward of <paramref name="chunk"/>'s greedy completions and the number of prompts.</summary>
    public static (double Sum, double Count) Score(LoraModel lora, HfTokenizer tokenizer, IReadOnlyList<TokenizedPrompt> chunk,
        int maxCompletionTokens, IReadOnlyCollection<long> stopTokenIds, long padId, Func<string, string, double> reward)
    {
        var options = new GenerationOptions { MaxNewTokens = maxCompletionTokens, StopTokenIds = stopTokenIds };
        var prompts = chunk.Select(p => (IReadOnlyList<long>)p.PromptIds.Select(id => (long)id).ToList()).ToList();
        var completions = BatchGenerator.Generate(lora.Model, prompts, options, tokenizer, padId);
        return (completions.Select((c, i) => reward(c.Text, chunk[i].Answer)).Sum(), chunk.Count);
    }
}

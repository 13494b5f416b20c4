using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>GRPO's own parameters (TRL's names in the method's schema).</summary>
public sealed record GrpoArgs(int NumGenerations, double Beta, int MaxCompletionTokens, double Temperature, IReadOnlyList<string> RewardFunctions)
{
    public static GrpoArgs From(TrainingParameters settings) =>
        new(settings.NumGenerations, settings.GrpoBeta, settings.MaxCompletionTokens, settings.Temperature, settings.RewardFunctions);
}

/// <summary>
/// GRPO as TRL's GRPOTrainer with one update per generation batch: per micro-batch, sample G completions per prompt
/// with the current policy, score them with the reward functions, normalise rewards within each group, and
/// backpropagate the GRPO loss (k3 KL to the adapter-disabled reference). Micro-batches weigh equally.
/// </summary>
public sealed class GrpoObjective(
    TrainingData data, HfTokenizer tokenizer, IReadOnlyCollection<long> stopTokenIds, int padId, Device device, GrpoArgs args, int seed, int maxTokens)
    : TrainingObjective<TokenizedPrompt>
{
    private List<string> _samples = [];

    public override TrainingAlgorithm Algorithm => TrainingAlgorithm.Grpo;

    // A loss means nothing on the validation split (it depends on the sampled group); the mean reward of greedy answers does.
    public override string EvalMetric => MetricPoint.Keys.EvalReward;

    public override IReadOnlyList<string> Samples => _samples;

    public override TokenizedPrompt? Tokenize(DatasetExample example) =>
        example is PromptAnswerExample prompt ? data.Prompt(prompt, MaxPromptTokens()) : throw CannotTrainOn(example);

    /// <summary>The prompt budget: what max tokens leaves after the longest completion.</summary>
    private int MaxPromptTokens() => maxTokens - args.MaxCompletionTokens is >= 1 and var budget
        ? budget
        : throw new InvalidDataException($"Max completion tokens ({args.MaxCompletionTokens}) must be below max tokens ({maxTokens}): prompt and completion share them.");

    public override StepOutput Backward(LoraModel lora, IReadOnlyList<IReadOnlyList<TokenizedPrompt>> microBatches, long step)
    {
        var g = args.NumGenerations;
        var options = new GenerationOptions
        {
            MaxNewTokens = args.MaxCompletionTokens,
            Temperature = args.Temperature,
            StopTokenIds = stopTokenIds,
        };
        var weight = 1.0 / microBatches.Count;
        Tensor lossSum = zeros(1, dtype: ScalarType.Float32, device: device), klSum = zeros(1, dtype: ScalarType.Float32, device: device);
        long tokens = 0;
        var rewards = new List<double>();
        var perFunction = args.RewardFunctions.ToDictionary(f => f, _ => 0.0);
        var stds = new List<double>();
        long completionTokens = 0;
        var samples = new List<string>();
        for (var m = 0; m < microBatches.Count; m++)
        {
            var prompts = microBatches[m];
            var sequences = new List<(int[] Prompt, int[] Completion)>();
            var groupRewards = new List<double>();
            // Every group of the micro-batch in one batched generation. The seed derives from the run's seed and the
            // position in the run, so a resumed run samples the same.
            var sampleSeed = seed * 1_000_003L + (step * microBatches.Count + m) * 1_009L;
            var all = Grpo.Sample(lora.Model, prompts.Select(p => (IReadOnlyList<long>)p.PromptIds.Select(id => (long)id).ToList()).ToList(), g, options, sampleSeed);
            for (var p = 0; p < prompts.Count; p++)
            {
                foreach (var completion in all.Skip(p * g).Take(g))
                {
                    var text = tokenizer.Decode(completion.TextTokenIds, skipSpecialTokens: true);
                    var reward = 0.0;
                    foreach (var function in args.RewardFunctions)
                    {
                        var score = GrpoRewards.Score(function, text, prompts[p].Answer);
                        perFunction[function] += score;
                        reward += score;
                    }
                    groupRewards.Add(reward);
                    sequences.Add((prompts[p].PromptIds, completion.TokenIds));
                    tokens += prompts[p].PromptIds.Length + completion.TokenIds.Length;
                    if (m == 0 && p == 0 && samples.Count < 2) samples.Add($"  reward {reward:0.##} (answer \"{prompts[p].Answer}\"): \"{text}\"");
                }
            }
            var (advantages, groupStds) = Grpo.Advantages(groupRewards, g);
            var output = Grpo.Compute(lora, sequences, advantages, args.Beta, args.Temperature, padId, device);
            (output.Loss * weight).backward();
            lossSum += output.Loss.detach() * weight;
            klSum += output.MeanKl * weight;
            completionTokens += output.CompletionTokens;
            rewards.AddRange(groupRewards);
            stds.AddRange(groupStds);
        }
        _samples = samples;
        // TRL's names and meanings: reward_std is the mean of the groups' standard deviations.
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [MetricPoint.Keys.Reward] = rewards.Average(),
            [MetricPoint.Keys.RewardStd] = stds.Average(),
            [MetricPoint.Keys.Kl] = klSum.item<float>(),
            [MetricPoint.Keys.CompletionLength] = (double)completionTokens / rewards.Count,
        };
        foreach (var (function, total) in perFunction) metrics[$"rewards/{function}"] = total / rewards.Count;
        return new StepOutput(lossSum, tokens, metrics);
    }

    public override (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<TokenizedPrompt> chunk) =>
        RewardEvaluation.Score(lora, tokenizer, chunk, args.MaxCompletionTokens, stopTokenIds, padId,
            (text, answer) => GrpoRewards.Total(args.RewardFunctions, text, answer));
}

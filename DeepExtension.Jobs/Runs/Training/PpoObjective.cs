using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Generation;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>PPO's own parameters (TRL's PPOConfig names in the method's schema).</summary>
public sealed record PpoArgs(
    int PpoEpochs,
    int NumMiniBatches,
    double ClipRange,
    double ClipRangeValue,
    double VfCoef,
    double KlCoef,
    double Gamma,
    double Lambda,
    bool WhitenRewards,
    int MaxCompletionTokens,
    double Temperature,
    IReadOnlyList<string> RewardFunctions,
    IReadOnlyList<double> RewardWeights)
{
    public static PpoArgs From(TrainingParameters settings) => new(
        settings.PpoEpochs, settings.NumMiniBatches, settings.ClipRange, settings.ClipRangeValue, settings.VfCoef, settings.KlCoef,
        settings.Gamma, settings.Lambda, settings.WhitenRewards, settings.MaxCompletionTokens, settings.Temperature, settings.RewardFunctions,
        GrpoRewardFunctions.ParseWeights(settings.RewardWeights, settings.RewardFunctions.Count));

    /// <summary>A completion's score: the weighted sum of the reward functions against the reference answer.</summary>
    public double Score(string completion, string reference) =>
        RewardFunctions.Select((f, i) => RewardWeights[i] * GrpoRewards.Score(f, completion, reference)).Sum();
}

/// <summary>
/// PPO as TRL's PPOTrainer with a LoRA policy. Per optimizer step of the run (one batch of prompts: batch size ×
/// gradient accumulation): roll out one completion per prompt with the current policy (batched generation), score it
/// with the reward functions, compute the rollout's log-probs and values (policy + <see cref="ValueHead"/>) and the
/// reference's log-probs (the adapter disabled), per-token rewards with the KL penalty, GAE advantages (whitened) and
/// returns; then <c>ppo_epochs</c> passes over the rollouts in <c>num_mini_batches</c> shuffled minibatches, each one
/// optimizer update of the adapter and the value head with the clipped policy loss plus <c>vf_coef</c> × the clipped
/// value loss (accumulated over micro-batches of batch size). Dropout is off throughout, as TRL disables it for PPO, so
/// the first update's ratio is exactly 1.
/// </summary>
public sealed class PpoObjective : TrainingObjective<TokenizedPrompt>, IDisposable
{
    private readonly TrainingData _data;
    private readonly HfTokenizer _tokenizer;
    private readonly IReadOnlyCollection<long> _stopTokenIds;
    private readonly int _padId;
    private readonly Device _device;
    private readonly PpoArgs _args;
    private readonly int _seed;
    private readonly int _maxTokens;
    private readonly ValueHead _valueHead;
    private List<string> _samples = [];

    public PpoObjective(TrainingData data, HfTokenizer tokenizer, IReadOnlyCollection<long> stopTokenIds, int padId, Device device, PpoArgs args,
        int seed, int maxTokens, long hiddenSize)
    {
        _data = data;
        _tokenizer = tokenizer;
        _stopTokenIds = stopTokenIds;
        _padId = padId;
        _device = device;
        _args = args;
        _seed = seed;
        _maxTokens = maxTokens;
        using var generator = new Generator((ulong)seed + 1);
        _valueHead = new ValueHead(hiddenSize, device, generator);
    }

    public override TrainingAlgorithm Algorithm => TrainingAlgorithm.Ppo;

    public override string EvalMetric => MetricPoint.Keys.EvalReward;

    public override IReadOnlyList<string> Samples => _samples;

    public ValueHead ValueHead => _valueHead;

    public override IReadOnlyList<(string Name, Parameter Parameter)> ExtraParameters => _valueHead.Parameters;

    public override void SaveState(string checkpointDirectory) => _valueHead.Save(checkpointDirectory);

    public override void LoadState(string checkpointDirectory) => _valueHead.Load(checkpointDirectory);

    public override TokenizedPrompt? Tokenize(DatasetExample example) =>
        example is PromptAnswerExample prompt ? _data.Prompt(prompt, MaxPromptTokens()) : throw CannotTrainOn(example);

    private int MaxPromptTokens() => _maxTokens - _args.MaxCompletionTokens is >= 1 and var budget
        ? budget
        : throw new InvalidDataException($"Max completion tokens ({_args.MaxCompletionTokens}) must be below max tokens ({_maxTokens}): prompt and completion share them.");

    /// <summary>PPO updates several times per batch of rollouts: see <see cref="Optimize"/>, which the loop calls.</summary>
    public override StepOutput Backward(LoraModel lora, IReadOnlyList<IReadOnlyList<TokenizedPrompt>> microBatches, long step) =>
        throw new NotSupportedException("PPO makes several optimizer updates per batch of rollouts; call Optimize.");

    public override StepOutput Optimize(LoraModel lora, IReadOnlyList<IReadOnlyList<TokenizedPrompt>> microBatches, long step, Func<Tensor> update)
    {
        var model = lora.Model;
        model.eval();
        _valueHead.eval();
        var microSize = Math.Max(1, microBatches.Max(b => b.Count));
        var prompts = microBatches.SelectMany(b => b).ToList();

        // Rollouts: one batched generation per micro-batch, seeded by the run's seed and the position in the run, so a
        // resumed run samples the same.
        var options = new GenerationOptions { MaxNewTokens = _args.MaxCompletionTokens, Temperature = _args.Temperature, StopTokenIds = _stopTokenIds };
        var completions = new List<GeneratedSequence>(prompts.Count);
        for (var m = 0; m < microBatches.Count; m++)
        {
            var ids = microBatches[m].Select(p => (IReadOnlyList<long>)p.PromptIds.Select(id => (long)id).ToList()).ToList();
            var sampleSeed = _seed * 1_000_003L + (step * microBatches.Count + m) * 1_009L;
            completions.AddRange(BatchGenerator.Generate(model, ids, options with { Seed = sampleSeed }, _tokenizer, _padId));
        }
        var scores = prompts.Select((p, i) => _args.Score(completions[i].Text, p.Answer)).ToArray();
        _samples = [.. completions.Take(2).Select((c, i) => $"  score {scores[i]:0.##} (answer \"{prompts[i].Answer}\"): \"{c.Text}\"")];

        var examples = prompts.Select((p, i) =>
        {
            var completion = completions[i].TokenIdsWithStop.Select(id => (int)id).ToArray();
            return new SupervisedExample([.. p.PromptIds, .. completion],
                [.. Enumerable.Repeat(SupervisedExample.IgnoreIndex, p.PromptIds.Length), .. completion]);
        }).ToList();
        using var batch = SftBatch.Collate(examples, _padId, _device);
        var n = prompts.Count;

        // The rollout's log-probs and values, and the reference's log-probs, without gradients.
        Tensor oldLogProbs, oldValues, mask, referenceLogProbs;
        using (no_grad())
        {
            var chunks = Enumerable.Range(0, n).Chunk(microSize).Select(c => Rows(batch, c)).ToList();
            var forwards = chunks.Select(c => Ppo.Forward(model, _valueHead, c.Ids, c.Labels, c.Mask, _args.Temperature)).ToList();
            oldLogProbs = cat(forwards.Select(f => f.LogProbs).ToList(), 0);
            oldValues = cat(forwards.Select(f => f.Values).ToList(), 0);
            mask = cat(forwards.Select(f => f.Mask).ToList(), 0);
            using (lora.DisableAdapters())
            {
                referenceLogProbs = cat(chunks.Select(c => Dpo.TokenLogProbs(model, c.Ids, c.Labels, c.Mask, _args.Temperature).LogProbs).ToList(), 0);
            }
        }
        var scoreTensor = tensor(scores, ScalarType.Float32, _device);
        var (rewards, kl, nonScore) = Ppo.Rewards(oldLogProbs, referenceLogProbs, scoreTensor, mask, _args.KlCoef);
        if (_args.WhitenRewards) rewards = Ppo.MaskedWhiten(rewards, mask, shiftMean: false) * mask;
        var (advantages, returns) = Ppo.Gae(rewards, oldValues, mask, _args.Gamma, _args.Lambda);

        // PPO epochs over shuffled minibatches; each minibatch is one update, accumulated over micro-batches.
        var order = Enumerable.Range(0, n).ToArray();
        var random = new Random(unchecked(_seed * 7_919 + (int)step));
        var miniSize = (n + _args.NumMiniBatches - 1) / _args.NumMiniBatches;
        var policyLosses = new List<Tensor>();
        var valueLosses = new List<Tensor>();
        var policyClip = new List<Tensor>();
        var valueClip = new List<Tensor>();
        var approxKl = new List<Tensor>();
        var totalLosses = new List<Tensor>();
        var gradNorms = new List<Tensor>();
        for (var epoch = 0; epoch < _args.PpoEpochs; epoch++)
        {
            random.Shuffle(order);
            foreach (var minibatch in order.Chunk(miniSize))
            {
                var minibatchLoss = zeros(1, ScalarType.Float32, _device);
                foreach (var micro in minibatch.Chunk(microSize))
                {
                    var rows = Rows(batch, micro);
                    var index = rows.Index;
                    var forward = Ppo.Forward(model, _valueHead, rows.Ids, rows.Labels, rows.Mask, _args.Temperature);
                    var policy = Ppo.PolicyLoss(forward.LogProbs, oldLogProbs.index_select(0, index), advantages.index_select(0, index), forward.Mask, _args.ClipRange);
                    var value = Ppo.ValueLoss(forward.Values, oldValues.index_select(0, index), returns.index_select(0, index), forward.Mask, _args.ClipRangeValue);
                    var loss = policy.Loss + _args.VfCoef * value.Loss;
                    var weight = (double)micro.Length / minibatch.Length;
                    (loss * weight).backward();
                    minibatchLoss += loss.detach() * weight;
                    policyLosses.Add(policy.Loss.detach());
                    valueLosses.Add(value.Loss.detach());
                    policyClip.Add(policy.ClipFraction);
                    valueClip.Add(value.ClipFraction);
                    approxKl.Add(policy.ApproxKl);
                }
                totalLosses.Add(minibatchLoss);
                gradNorms.Add(update());
            }
        }

        // TRL's names and meanings: per-completion sums averaged over the batch for the objective/… values, means over
        // the updates' micro-batches for the loss and clipping statistics.
        var meanScore = scores.Average();
        var nonScoreReward = nonScore.sum(1).mean().item<float>();
        var valueLoss = stack(valueLosses).mean().item<float>();
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["objective/kl"] = kl.sum(1).mean().item<float>(),
            ["objective/entropy"] = (-oldLogProbs * mask).sum(1).mean().item<float>(),
            ["objective/non_score_reward"] = nonScoreReward,
            ["objective/rlhf_reward"] = nonScoreReward + meanScore,
            ["objective/scores"] = meanScore,
            ["policy/approxkl"] = stack(approxKl).mean().item<float>(),
            ["policy/clipfrac"] = stack(policyClip).mean().item<float>(),
            ["loss/policy_avg"] = stack(policyLosses).mean().item<float>(),
            ["loss/value_avg"] = valueLoss,
            ["val/vf_loss"] = _args.VfCoef * valueLoss,
            ["val/clipfrac"] = stack(valueClip).mean().item<float>(),
        };
        var tokens = examples.Sum(e => (long)e.InputIds.Length);
        return new StepOutput(stack(totalLosses).mean(), tokens, metrics) { GradNorm = stack(gradNorms).mean() };
    }

    public override (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<TokenizedPrompt> chunk) =>
        RewardEvaluation.Score(lora, _tokenizer, chunk, _args.MaxCompletionTokens, _stopTokenIds, _padId, _args.Score);

    /// <summary>Rows <paramref name="indices"/> of the rollout batch.</summary>
    private (Tensor Index, Tensor Ids, Tensor Labels, Tensor Mask) Rows(SftBatch batch, int[] indices)
    {
        var index = tensor(indices.Select(i => (long)i).ToArray(), ScalarType.Int64, _device);
        return (index, batch.InputIds.index_select(0, index), batch.Labels.index_select(0, index), batch.AttentionMask.index_select(0, index));
    }

    public void Dispose() => _valueHead.Dispose();
}

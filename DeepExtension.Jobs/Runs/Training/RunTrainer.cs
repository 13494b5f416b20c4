using System.Diagnostics;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>What a worker attempt ended with.</summary>
public enum TrainingOutcome
{
    Completed,
    Cancelled,
    Interrupted,
}

/// <summary>
/// The training loop of one run (SFT, DPO or GRPO with LoRA): reads the dataset version, trains with the run's
/// parameters, writes metrics, logs, checkpoints and progress into the run folder, and resumes from the
/// latest checkpoint when one exists.
/// </summary>
public sealed class RunTrainer(
    TrainingRun run, string baseModelDirectory, DatasetVersion dataset, DatasetService datasets, RunFiles files, Func<bool> interrupted)
{
    private const string CheckpointPrefix = "step-";
    private const int KeptCheckpoints = 3;

    private readonly TrainingParameters _settings = run.TrainingParameters;
    private readonly Stopwatch _clock = new();
    private double _elapsedBefore;
    private double _secondsPerStep;
    /// <summary>GRPO: a few completions of the last step with their rewards, for the log.</summary>
    private List<string> _samples = [];

    public async Task<TrainingOutcome> RunAsync(CancellationToken cancellationToken)
    {
        TorchRuntime.EnsureInitialized();
        var device = run.Device switch
        {
            "cpu" => CPU,
            "cuda" when !cuda.is_available() => throw new InvalidOperationException("The run asks for CUDA but no CUDA device is available to the worker."),
            "cuda" => CUDA,
            _ => TorchRuntime.DefaultDevice,
        };
        // bf16 weights on GPUs; LoRA parameters, optimizer state and losses stay in float32 either way.
        var dtype = device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
        Log(RunLogLevel.Info, $"Run {run.Name} ({run.MethodName}) on {device.type.ToString().ToLowerInvariant()} in {dtype}; base model {baseModelDirectory}.");

        var tokenizer = HfTokenizer.Load(baseModelDirectory);
        var template = ChatTemplate.Load(baseModelDirectory);
        var data = new TrainingData(tokenizer, template, _settings.SystemPrompt, _settings.MaxTokens, _settings.TrainOnResponsesOnly);
        var train = await LoadAsync(data, DatasetPart.Train, cancellationToken);
        var validation = await LoadAsync(data, DatasetPart.Validation, cancellationToken);
        if (run.Algorithm == TrainingAlgorithm.Grpo && validation.Count > 0)
        {
            // An evaluation loss means nothing for GRPO (its loss depends on the sampled group), and evaluating by
            // sampling is not built yet.
            Log(RunLogLevel.Info, "GRPO does not evaluate on the validation split in this version; it is not used.");
            validation = [];
        }
        Log(RunLogLevel.Info, $"Dataset: {train.Count} training and {validation.Count} validation examples" +
            (data.Truncated > 0 ? $", {data.Truncated} truncated to {_settings.MaxTokens} tokens" : "") +
            (data.Skipped > 0 ? $", {data.Skipped} skipped (no answer tokens left after truncation)" : "") + ".");
        if (train.Count == 0) throw new InvalidDataException("No training example is left after tokenization.");

        var padId = tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0;
        var microBatchesPerEpoch = (train.Count + _settings.BatchSize - 1) / _settings.BatchSize;
        var stepsPerEpoch = Math.Max(1, (microBatchesPerEpoch + _settings.GradientAccumulation - 1) / _settings.GradientAccumulation);
        var totalSteps = (long)stepsPerEpoch * _settings.Epochs;
        var warmup = LearningRateSchedule.WarmupSteps(totalSteps, 0, _settings.WarmupRatio);
        var schedule = LearningRateSchedule.ByName(_settings.Scheduler, warmup, totalSteps);
        var adamw = new AdamWOptions(_settings.LearningRate, 0.9, 0.999, 1e-8, _settings.WeightDecay);

        var model = ForCausalLM.FromPretrained(baseModelDirectory, dtype, device);
        LoraModel lora;
        AdamWOptimizer optimizer;
        long step = 0;
        if (LatestCheckpoint() is { } checkpoint)
        {
            TrainerState state;
            (lora, optimizer, state) = TrainingCheckpoint.Load(checkpoint, model, adamw);
            step = state.GlobalStep;
            RestoreMetrics(step);
            Log(RunLogLevel.Info, $"Resuming from {Path.GetFileName(checkpoint)} (step {step} of {totalSteps}).");
        }
        else
        {
            lora = LoraModel.Inject(model, _settings.Lora, new Generator((ulong)_settings.Seed));
            optimizer = new AdamWOptimizer(lora.TrainableParameters, adamw);
            Log(RunLogLevel.Info, $"LoRA r={_settings.Lora.R} alpha={_settings.Lora.LoraAlpha} on {string.Join(", ", _settings.Lora.ResolvedTargets())}: " +
                $"{lora.TrainableParameters.Sum(p => p.Parameter.numel()):N0} trainable parameters. {totalSteps} optimizer steps.");
        }

        using (optimizer)
        {
            _clock.Start();
            while (step < totalSteps)
            {
                var epoch = (int)(step / stepsPerEpoch);
                var order = Shuffled(train.Count, _settings.Seed + epoch);
                var firstMicroBatch = (int)(step % stepsPerEpoch) * _settings.GradientAccumulation;
                for (var micro = firstMicroBatch; micro < microBatchesPerEpoch && step < totalSteps; micro += _settings.GradientAccumulation)
                {
                    if (interrupted() || files.CancelRequested)
                    {
                        SaveCheckpoint(lora, optimizer, step, epoch, baseModelDirectory);
                        var cancelled = files.CancelRequested;
                        Log(RunLogLevel.Warning, cancelled ? $"Cancelled at step {step}; checkpoint saved." : $"Interrupted at step {step}; checkpoint saved, the run can resume.");
                        return cancelled ? TrainingOutcome.Cancelled : TrainingOutcome.Interrupted;
                    }
                    var groups = Enumerable.Range(micro, Math.Min(_settings.GradientAccumulation, microBatchesPerEpoch - micro))
                        .Select(m => order.Skip(m * _settings.BatchSize).Take(_settings.BatchSize).Select(i => train[i]).ToList())
                        .ToList();
                    optimizer.LearningRate = _settings.LearningRate * schedule(step);
                    var started = _clock.Elapsed.TotalSeconds;
                    var (values, tokens) = TrainStep(lora, optimizer, groups, padId, device, step, tokenizer);
                    step++;
                    var stepSeconds = _clock.Elapsed.TotalSeconds - started;
                    _secondsPerStep = _secondsPerStep == 0 ? stepSeconds : 0.9 * _secondsPerStep + 0.1 * stepSeconds;
                    values[MetricPoint.Keys.LearningRate] = optimizer.LearningRate;
                    values[MetricPoint.Keys.TokensPerSecond] = tokens / Math.Max(stepSeconds, 1e-9);
                    values[MetricPoint.Keys.EtaSeconds] = (totalSteps - step) * _secondsPerStep;
                    var epochProgress = (double)step / stepsPerEpoch;
                    Record(step, totalSteps, epochProgress, values);
                    // Users judge GRPO by what it writes: show samples at the start, every tenth of the run and at the end.
                    if (_samples.Count > 0 && (step == 1 || step == totalSteps || step % Math.Max(1, totalSteps / 10) == 0))
                    {
                        Log(RunLogLevel.Info, $"Step {step} samples:\n{string.Join("\n", _samples)}");
                    }

                    var epochEnded = step % stepsPerEpoch == 0;
                    if (validation.Count > 0 && ((_settings.EvalEverySteps > 0 && step % _settings.EvalEverySteps == 0) || epochEnded))
                    {
                        Evaluate(lora, validation, padId, device, step, totalSteps, epochProgress);
                    }
                    if (_settings.SaveInSteps ? step % _settings.SaveEvery == 0 : epochEnded && (step / stepsPerEpoch) % _settings.SaveEvery == 0)
                    {
                        SaveCheckpoint(lora, optimizer, step, (int)(step / stepsPerEpoch), baseModelDirectory);
                    }
                }
            }

            PeftAdapter.Save(lora, files.AdapterDirectory, baseModelDirectory);
            Log(RunLogLevel.Info, $"Training finished after {step} steps; adapter written to {files.AdapterDirectory}.");
            return TrainingOutcome.Completed;
        }
    }

    /// <summary>One optimizer step over accumulated micro-batches. Returns the logged values and tokens processed.</summary>
    private (Dictionary<string, double> Values, long Tokens) TrainStep(
        LoraModel lora, AdamWOptimizer optimizer, List<List<object>> groups, int padId, Device device, long step, HfTokenizer tokenizer)
    {
        using var scope = NewDisposeScope();
        lora.Model.train();
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        long tokens = 0;
        Tensor lossSum = zeros(1, dtype: ScalarType.Float32, device: device);
        if (run.Algorithm == TrainingAlgorithm.Dpo)
        {
            Tensor chosenRewards = zeros(0, device: device), rejectedRewards = zeros(0, device: device);
            Tensor chosenLogps = zeros(0, device: device), rejectedLogps = zeros(0, device: device);
            var weight = 1.0 / groups.Count;
            foreach (var group in groups)
            {
                var pairs = group.Cast<TokenizedPair>().ToList();
                using var chosen = SftBatch.Collate(pairs.Select(p => p.Chosen).ToList(), padId, device);
                using var rejected = SftBatch.Collate(pairs.Select(p => p.Rejected).ToList(), padId, device);
                tokens += pairs.Sum(p => p.Chosen.InputIds.Length + p.Rejected.InputIds.Length);
                var output = Dpo.Compute(lora, chosen.InputIds, chosen.Labels, chosen.AttentionMask,
                    rejected.InputIds, rejected.Labels, rejected.AttentionMask, _settings.DpoBeta, _settings.DpoLabelSmoothing);
                (output.Loss * weight).backward();
                lossSum += output.Loss.detach() * weight;
                chosenRewards = cat([chosenRewards, output.ChosenRewards.to(ScalarType.Float32)]);
                rejectedRewards = cat([rejectedRewards, output.RejectedRewards.to(ScalarType.Float32)]);
                chosenLogps = cat([chosenLogps, output.PolicyChosenLogps.detach()]);
                rejectedLogps = cat([rejectedLogps, output.PolicyRejectedLogps.detach()]);
            }
            values["rewards/chosen"] = chosenRewards.mean().item<float>();
            values["rewards/rejected"] = rejectedRewards.mean().item<float>();
            values["rewards/margins"] = (chosenRewards - rejectedRewards).mean().item<float>();
            values["rewards/accuracies"] = chosenRewards.gt(rejectedRewards).to(ScalarType.Float32).mean().item<float>();
            values["logps/chosen"] = chosenLogps.mean().item<float>();
            values["logps/rejected"] = rejectedLogps.mean().item<float>();
        }
        else if (run.Algorithm == TrainingAlgorithm.Grpo)
        {
            lossSum += GrpoMicroBatches(lora, groups, padId, device, step, tokenizer, values, ref tokens);
        }
        else
        {
            var examples = groups.Select(g => g.Cast<SupervisedExample>().ToList()).ToList();
            var weights = GradientAccumulation.TokenWeighted(examples.Select(g => g.Sum(TrainingData.LabelCount)).ToList());
            for (var i = 0; i < examples.Count; i++)
            {
                using var batch = SftBatch.Collate(examples[i], padId, device);
                tokens += examples[i].Sum(e => e.InputIds.Length);
                var loss = lora.Model.Loss(batch.InputIds, batch.Labels, batch.AttentionMask);
                (loss * weights[i]).backward();
                lossSum += loss.detach() * weights[i];
            }
        }
        var maxNorm = _settings.MaxGradNorm > 0 ? _settings.MaxGradNorm : double.PositiveInfinity;
        var gradNorm = GradientClipping.ClipGradNorm(optimizer.Parameters, maxNorm);
        optimizer.Step();
        optimizer.ZeroGrad();
        // Logging reads two scalars: the only host synchronisation of the step.
        values[MetricPoint.Keys.Loss] = lossSum.item<float>();
        values[MetricPoint.Keys.GradNorm] = gradNorm.item<float>();
        return (values, tokens);
    }

    /// <summary>
    /// GRPO's part of a step: per micro-batch, sample G completions per prompt with the current policy, score them,
    /// normalise rewards within each group, and backpropagate the GRPO loss. Returns the weighted loss (detached).
    /// </summary>
    private Tensor GrpoMicroBatches(LoraModel lora, List<List<object>> groups, int padId, Device device, long step, HfTokenizer tokenizer,
        Dictionary<string, double> values, ref long tokens)
    {
        var g = _settings.NumGenerations;
        var functions = _settings.RewardFunctions;
        var options = new GenerationOptions
        {
            MaxNewTokens = _settings.MaxCompletionTokens,
            Temperature = _settings.Temperature,
            StopTokenIds = lora.Model.Config.EosTokenIds.Concat(tokenizer.EosTokenId is { } eos ? [(long)eos] : []).Distinct().ToList(),
        };
        var weight = 1.0 / groups.Count;
        Tensor lossSum = zeros(1, dtype: ScalarType.Float32, device: device), klSum = zeros(1, dtype: ScalarType.Float32, device: device);
        var rewards = new List<double>();
        var perFunction = functions.ToDictionary(f => f, _ => 0.0);
        var stds = new List<double>();
        long completionTokens = 0;
        var samples = new List<string>();
        for (var m = 0; m < groups.Count; m++)
        {
            var prompts = groups[m].Cast<TokenizedPrompt>().ToList();
            var sequences = new List<(int[] Prompt, int[] Completion)>();
            var groupRewards = new List<double>();
            for (var p = 0; p < prompts.Count; p++)
            {
                // Seeds derive from the run's seed and the position in the run, so a resumed run samples the same.
                var seed = _settings.Seed * 1_000_003L + (step * groups.Count + m) * 1_009L + (long)p * g;
                var promptIds = prompts[p].PromptIds.Select(id => (long)id).ToList();
                foreach (var completion in Grpo.Sample(lora.Model, promptIds, g, options, seed))
                {
                    var text = tokenizer.Decode(completion.TextTokenIds, skipSpecialTokens: true);
                    var reward = 0.0;
                    foreach (var function in functions)
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
            var output = Grpo.Compute(lora, sequences, advantages, _settings.GrpoBeta, _settings.Temperature, padId, device);
            (output.Loss * weight).backward();
            lossSum += output.Loss.detach() * weight;
            klSum += output.MeanKl * weight;
            completionTokens += output.CompletionTokens;
            rewards.AddRange(groupRewards);
            stds.AddRange(groupStds);
        }
        _samples = samples;
        // TRL's names and meanings: reward_std is the mean of the groups' standard deviations.
        values[MetricPoint.Keys.Reward] = rewards.Average();
        values[MetricPoint.Keys.RewardStd] = stds.Average();
        values[MetricPoint.Keys.Kl] = klSum.item<float>();
        values[MetricPoint.Keys.CompletionLength] = (double)completionTokens / rewards.Count;
        foreach (var (function, total) in perFunction) values[$"rewards/{function}"] = total / rewards.Count;
        return lossSum;
    }

    private void Evaluate(LoraModel lora, IReadOnlyList<object> validation, int padId, Device device, long step, long totalSteps, double epoch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        lora.Model.eval();
        double weighted = 0, weights = 0;
        foreach (var chunk in validation.Chunk(_settings.BatchSize))
        {
            if (run.Algorithm == TrainingAlgorithm.Dpo)
            {
                var pairs = chunk.Cast<TokenizedPair>().ToList();
                using var chosen = SftBatch.Collate(pairs.Select(p => p.Chosen).ToList(), padId, device);
                using var rejected = SftBatch.Collate(pairs.Select(p => p.Rejected).ToList(), padId, device);
                var output = Dpo.Compute(lora, chosen.InputIds, chosen.Labels, chosen.AttentionMask,
                    rejected.InputIds, rejected.Labels, rejected.AttentionMask, _settings.DpoBeta, _settings.DpoLabelSmoothing);
                weighted += output.Loss.item<float>() * pairs.Count;
                weights += pairs.Count;
            }
            else
            {
                var examples = chunk.Cast<SupervisedExample>().ToList();
                using var batch = SftBatch.Collate(examples, padId, device);
                weighted += lora.Model.Loss(batch.InputIds, batch.Labels, batch.AttentionMask).item<float>() * batch.LabelTokens;
                weights += batch.LabelTokens;
            }
        }
        var evalLoss = weighted / Math.Max(weights, 1e-9);
        Record(step, totalSteps, epoch, new Dictionary<string, double> { [MetricPoint.Keys.EvalLoss] = evalLoss });
        Log(RunLogLevel.Info, $"Step {step}: evaluation loss {evalLoss:0.####} on {validation.Count} examples.");
    }

    private async Task<List<object>> LoadAsync(TrainingData data, DatasetPart part, CancellationToken cancellationToken)
    {
        var list = new List<object>();
        await foreach (var example in datasets.ReadAsync(dataset, part, cancellationToken))
        {
            object? tokenized = example switch
            {
                SftExample sft when run.Algorithm == TrainingAlgorithm.Sft => data.Sft(sft),
                PreferenceExample pair when run.Algorithm == TrainingAlgorithm.Dpo => data.Preference(pair),
                PromptAnswerExample prompt when run.Algorithm == TrainingAlgorithm.Grpo => data.Prompt(prompt, MaxPromptTokens()),
                _ => throw new InvalidDataException($"Row {example.Index + 1} (line {example.Line}) is {example.Kind} data; {run.Algorithm} cannot train on it."),
            };
            if (tokenized is not null) list.Add(tokenized);
        }
        return list;
    }

    /// <summary>GRPO's prompt budget: what max tokens leaves after the longest completion.</summary>
    private int MaxPromptTokens() => _settings.MaxTokens - _settings.MaxCompletionTokens is >= 1 and var budget
        ? budget
        : throw new InvalidDataException($"Max completion tokens ({_settings.MaxCompletionTokens}) must be below max tokens ({_settings.MaxTokens}): prompt and completion share them.");

    private static int[] Shuffled(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }

    /// <summary>Appends one point; it carries where the run stands (step, epoch, total, ETA), from which every summary is derived.</summary>
    private void Record(long step, long totalSteps, double epoch, Dictionary<string, double> values)
    {
        MetricsFile.Append(files, new MetricPoint(step, Math.Round(epoch, 4), Math.Round(_elapsedBefore + _clock.Elapsed.TotalSeconds, 3), values)
        {
            TotalSteps = totalSteps,
        });
    }

    private void SaveCheckpoint(LoraModel lora, AdamWOptimizer optimizer, long step, int epoch, string baseModel)
    {
        var directory = Path.Combine(files.CheckpointsDirectory, $"{CheckpointPrefix}{step:D8}");
        if (Directory.Exists(directory)) return;
        var partial = directory + ".partial";
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        TrainingCheckpoint.Save(partial, lora, optimizer, new TrainerState(step, epoch, 0, optimizer.LearningRate), baseModel);
        Directory.Move(partial, directory);
        foreach (var old in Checkpoints().SkipLast(KeptCheckpoints)) Directory.Delete(old, recursive: true);
        Log(RunLogLevel.Info, $"Checkpoint saved at step {step}.");
    }

    private string? LatestCheckpoint() => Checkpoints().LastOrDefault();

    private IEnumerable<string> Checkpoints() =>
        Directory.Exists(files.CheckpointsDirectory)
            ? Directory.GetDirectories(files.CheckpointsDirectory, CheckpointPrefix + "*")
                .Where(d => !d.EndsWith(".partial", StringComparison.Ordinal) && File.Exists(Path.Combine(d, TrainingCheckpoint.StateFile)))
                .Order(StringComparer.Ordinal)
            : [];

    /// <summary>Drops points logged after the checkpoint we resume from, so the curve continues without duplicates.</summary>
    private void RestoreMetrics(long step)
    {
        var kept = MetricsFile.ReadAll(files).Where(p => p.Step <= step).ToList();
        _elapsedBefore = kept.Count > 0 ? kept.Max(p => p.ElapsedSeconds) : 0;
        var temp = files.MetricsPath + ".tmp";
        File.WriteAllLines(temp, kept.Select(p => p.ToJsonLine()));
        File.Move(temp, files.MetricsPath, overwrite: true);
    }

    private void Log(RunLogLevel level, string message) => LogFile.Append(files, new LogLine(DateTimeOffset.UtcNow, level, message));
}

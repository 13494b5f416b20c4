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
/// One run's training (LoRA with SFT, DPO, GRPO or PPO), as litgpt's <c>fit</c>: set-up (device, tokenizer, the
/// algorithm's <see cref="TrainingObjective{TExample}"/>, data, schedule, model, resume from the
/// <see cref="CheckpointStore"/>), then the loop: per optimizer step the objective's backward pass, clipping and
/// the AdamW step, a record (<see cref="RunRecorder"/>), evaluation and checkpoints when due; at the end the adapter.
/// </summary>
public sealed class RunTrainer(
    TrainingRun run, string baseModelDirectory, DatasetVersion dataset, DatasetService datasets, RunFiles files, RunRecorder recorder, Func<bool> interrupted,
    string? device = null)
{
    // Where the node placed the run, else what the run asks for.
    private readonly string deviceName = device ?? run.Device;
    private readonly TrainingParameters _settings = run.TrainingParameters;
    private readonly TrainArgs _args = TrainArgs.From(run.TrainingParameters);
    private readonly CheckpointStore _checkpoints = new(files.CheckpointsDirectory, baseModelDirectory);

    public async Task<TrainingOutcome> RunAsync(CancellationToken cancellationToken)
    {
        TorchRuntime.EnsureInitialized();
        var device = TorchRuntime.DeviceFor(deviceName);
        // bf16 weights on GPUs; LoRA parameters, optimizer state and losses stay in float32 either way.
        var dtype = device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
        recorder.Log(RunLogLevel.Info, $"Run {run.Name} ({run.MethodName}) on {TorchRuntime.DescribeDevice(device)} in {dtype}; base model {baseModelDirectory}.");

        var tokenizer = HfTokenizer.Load(baseModelDirectory);
        var template = ChatTemplate.Load(baseModelDirectory);
        var data = new TrainingData(tokenizer, template, _settings.SystemPrompt, _settings.MaxTokens, _settings.TrainOnResponsesOnly);
        var padId = tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0;
        return run.Algorithm switch
        {
            TrainingAlgorithm.Sft => await FitAsync(new SftObjective(data, padId, device, _settings.Packing), data, device, dtype, cancellationToken),
            TrainingAlgorithm.Dpo => await FitAsync(new DpoObjective(data, padId, device, _settings.DpoBeta, _settings.DpoLabelSmoothing),
                data, device, dtype, cancellationToken),
            TrainingAlgorithm.Grpo => await FitAsync(new GrpoObjective(data, tokenizer, StopTokenIds.Of(baseModelDirectory, tokenizer), padId, device,
                GrpoArgs.From(_settings), _args.Seed, _settings.MaxTokens), data, device, dtype, cancellationToken),
            TrainingAlgorithm.Ppo => await FitPpoAsync(data, tokenizer, padId, device, dtype, cancellationToken),
            var other => throw new NotSupportedException($"{other} training is not implemented in this version."),
        };
    }

    private async Task<TrainingOutcome> FitPpoAsync(TrainingData data, HfTokenizer tokenizer, int padId, Device device, ScalarType dtype, CancellationToken cancellationToken)
    {
        using var objective = new PpoObjective(data, tokenizer, StopTokenIds.Of(baseModelDirectory, tokenizer), padId, device,
            PpoArgs.From(_settings), _args.Seed, _settings.MaxTokens, ModelConfig.Load(baseModelDirectory).HiddenSize);
        if (_settings.LoraDropout > 0) recorder.Log(RunLogLevel.Info, "PPO trains without dropout (as TRL's PPOTrainer): LoRA dropout is not applied.");
        return await FitAsync(objective, data, device, dtype, cancellationToken);
    }

    private async Task<TrainingOutcome> FitAsync<TExample>(
        TrainingObjective<TExample> objective, TrainingData data, Device device, ScalarType dtype, CancellationToken cancellationToken)
        where TExample : class
    {
        var train = await LoadAsync(objective, DatasetPart.Train, cancellationToken);
        var validation = await LoadAsync(objective, DatasetPart.Validation, cancellationToken);
        if (!objective.Evaluates && validation.Count > 0)
        {
            recorder.Log(RunLogLevel.Info, $"{objective.Algorithm.ToString().ToUpperInvariant()} does not evaluate on the validation split in this version; it is not used.");
            validation = [];
        }
        var report = new TrainingDataReport(train.Count, validation.Count, data.Truncated, data.Skipped, _settings.MaxTokens);
        recorder.Log(report.Truncated > 0 || report.Skipped > 0 ? RunLogLevel.Warning : RunLogLevel.Info, report.ToLogMessage());
        if (train.Count == 0) throw new InvalidDataException("No training example is left after tokenization.");

        var microBatchesPerEpoch = _args.MicroBatchesPerEpoch(train.Count);
        var stepsPerEpoch = _args.StepsPerEpoch(train.Count);
        var totalSteps = (long)stepsPerEpoch * _args.Epochs;
        var schedule = LearningRateSchedule.ByName(_args.Scheduler, LearningRateSchedule.WarmupSteps(totalSteps, 0, _args.WarmupRatio), totalSteps);
        var adamw = new AdamWOptions(_args.LearningRate, 0.9, 0.999, 1e-8, _args.WeightDecay);

        var model = ForCausalLM.FromPretrained(baseModelDirectory, dtype, device);
        var (lora, optimizer, step) = Resume(objective, model, adamw, totalSteps);
        model.model.Checkpointing = Checkpointing(device);
        // Dropout masks follow the seed, and differ after a resume from the steps they repeat.
        lora.SeedDropout((ulong)_args.Seed + (ulong)step);
        using (optimizer)
        {
            var clock = Stopwatch.StartNew();
            recorder.StartClock();
            var secondsPerStep = 0.0;
            while (step < totalSteps)
            {
                var epoch = (int)(step / stepsPerEpoch);
                var order = Shuffled(train.Count, _args.Seed + epoch);
                var firstMicroBatch = (int)(step % stepsPerEpoch) * _args.GradientAccumulation;
                for (var micro = firstMicroBatch; micro < microBatchesPerEpoch && step < totalSteps; micro += _args.GradientAccumulation)
                {
                    if (interrupted() || files.CancelRequested)
                    {
                        SaveCheckpoint(objective, lora, optimizer, step, epoch);
                        var cancelled = files.CancelRequested;
                        recorder.Log(RunLogLevel.Warning, cancelled ? $"Cancelled at step {step}; checkpoint saved." : $"Interrupted at step {step}; checkpoint saved, the run can resume.");
                        return cancelled ? TrainingOutcome.Cancelled : TrainingOutcome.Interrupted;
                    }
                    var microBatches = Enumerable.Range(micro, Math.Min(_args.GradientAccumulation, microBatchesPerEpoch - micro))
                        .Select(m => (IReadOnlyList<TExample>)order.Skip(m * _args.BatchSize).Take(_args.BatchSize).Select(i => train[i]).ToList())
                        .ToList();
                    optimizer.LearningRate = _args.LearningRate * schedule(step);

                    var started = clock.Elapsed.TotalSeconds;
                    var (values, tokens) = TrainStep(objective, lora, optimizer, microBatches, step);
                    step++;
                    var stepSeconds = clock.Elapsed.TotalSeconds - started;
                    secondsPerStep = secondsPerStep == 0 ? stepSeconds : 0.9 * secondsPerStep + 0.1 * stepSeconds;
                    values[MetricPoint.Keys.LearningRate] = optimizer.LearningRate;
                    values[MetricPoint.Keys.TokensPerSecond] = tokens / Math.Max(stepSeconds, 1e-9);
                    values[MetricPoint.Keys.EtaSeconds] = (totalSteps - step) * secondsPerStep;
                    GpuMemoryMetric.AddTo(values, device);
                    var epochProgress = (double)step / stepsPerEpoch;
                    recorder.Record(step, totalSteps, epochProgress, values);
                    // Users judge sampling objectives (GRPO) by what they write: samples at the start, every tenth of the run and at the end.
                    if (objective.Samples.Count > 0 && (step == 1 || step == totalSteps || step % Math.Max(1, totalSteps / 10) == 0))
                    {
                        recorder.Log(RunLogLevel.Info, $"Step {step} samples:\n{string.Join("\n", objective.Samples)}");
                    }

                    if (validation.Count > 0 && _args.EvalDue(step, stepsPerEpoch))
                    {
                        Evaluate(objective, lora, validation, step, totalSteps, epochProgress);
                    }
                    if (_args.SaveDue(step, stepsPerEpoch))
                    {
                        SaveCheckpoint(objective, lora, optimizer, step, (int)(step / stepsPerEpoch));
                    }
                }
            }

            PeftAdapter.Save(lora, files.AdapterDirectory, baseModelDirectory);
            recorder.Log(RunLogLevel.Info, $"Training finished after {step} steps; adapter written to {files.AdapterDirectory}.");
            return TrainingOutcome.Completed;
        }
    }

    private ActivationCheckpointing Checkpointing(Device device)
    {
        var mode = _settings.ActivationCheckpointing;
        var packing = run.Algorithm == TrainingAlgorithm.Sft && _settings.Packing ? "packing on (examples end to end, no padding)" : "padding to the longest example of each micro-batch";
        recorder.Log(RunLogLevel.Info, mode switch
        {
            ActivationCheckpointing.Off => $"Gradient checkpointing off: every activation is kept for backward; {packing}.",
            ActivationCheckpointing.Offload when device.type != DeviceType.CUDA =>
                $"Gradient checkpointing offload: on the CPU the layer inputs are in host memory already, so this is layer checkpointing; {packing}.",
            ActivationCheckpointing.Offload => $"Gradient checkpointing offload: layer inputs kept in pinned host memory, each layer recomputed in backward; {packing}.",
            _ => $"Gradient checkpointing by layer: each layer is recomputed in backward from its kept input; {packing}.",
        });
        return mode;
    }

    /// <summary>The adapter and optimizer to train with, and the step to start from: the latest checkpoint's, or fresh ones at step 0.</summary>
    private (LoraModel Lora, AdamWOptimizer Optimizer, long Step) Resume<TExample>(
        TrainingObjective<TExample> objective, ForCausalLM model, AdamWOptions adamw, long totalSteps)
        where TExample : class
    {
        var choice = _checkpoints.Choose();
        if (choice.PartialsRemoved > 0)
        {
            recorder.Log(RunLogLevel.Info, $"Removed {choice.PartialsRemoved} checkpoint folder(s) left half-written by an interrupted save.");
        }
        foreach (var skipped in choice.Skipped)
        {
            recorder.Log(RunLogLevel.Warning, $"Checkpoint {skipped.Name} skipped: {skipped.Reason}.");
        }
        if (choice.Checkpoint is { } checkpoint)
        {
            TrainerState state;
            LoraModel resumed;
            AdamWOptimizer optimizer;
            try
            {
                objective.LoadState(checkpoint);
                (resumed, optimizer, state) = CheckpointStore.Load(checkpoint, model, adamw, objective.ExtraParameters);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or System.Text.Json.JsonException)
            {
                // Verified yet not loadable (another base model's or algorithm's files): the model is half-wrapped now, so no fallback.
                throw new InvalidDataException($"Checkpoint {Path.GetFileName(checkpoint)} could not be loaded: {e.Message}", e);
            }
            recorder.ResumeAt(state.GlobalStep);
            recorder.Log(choice.Skipped.Count > 0 ? RunLogLevel.Warning : RunLogLevel.Info,
                $"Resuming from {Path.GetFileName(checkpoint)} (step {state.GlobalStep} of {totalSteps})" +
                (choice.Skipped.Count > 0 ? $": the newest checkpoint that verifies; {string.Join(", ", choice.Skipped.Select(s => s.Name))} skipped." : "."));
            return (resumed, optimizer, state.GlobalStep);
        }
        if (choice.Skipped.Count > 0)
        {
            throw new InvalidDataException($"No checkpoint of this run can be resumed from: " +
                string.Join("; ", choice.Skipped.Select(s => $"{s.Name}: {s.Reason}")) +
                ". Remove the run's checkpoints folder to train it again from the start.");
        }
        // Starting over (no checkpoint yet, as when a node died before the first one): an earlier attempt's points go.
        recorder.ResumeAt(0);
        var lora = LoraModel.Inject(model, _args.Lora, new Generator((ulong)_args.Seed));
        var fresh = new AdamWOptimizer([.. lora.TrainableParameters, .. objective.ExtraParameters], adamw);
        recorder.Log(RunLogLevel.Info, $"LoRA r={_args.Lora.R} alpha={_args.Lora.LoraAlpha} on {string.Join(", ", _args.Lora.ResolvedTargets())}: " +
            $"{lora.TrainableParameters.Sum(p => p.Parameter.numel()):N0} trainable parameters. {totalSteps} optimizer steps.");
        return (lora, fresh, 0);
    }

    /// <summary>One optimizer step: the objective's backward pass over the micro-batches, clipping, AdamW. Returns the
    /// values to record and the tokens processed.</summary>
    private (Dictionary<string, double> Values, long Tokens) TrainStep<TExample>(
        TrainingObjective<TExample> objective, LoraModel lora, AdamWOptimizer optimizer, IReadOnlyList<IReadOnlyList<TExample>> microBatches, long step)
        where TExample : class
    {
        using var scope = NewDisposeScope();
        lora.Model.train();
        var maxNorm = _args.MaxGradNorm > 0 ? _args.MaxGradNorm : double.PositiveInfinity;
        var output = objective.Optimize(lora, microBatches, step, () =>
        {
            var gradNorm = optimizer.ClipGradNorm(maxNorm);
            optimizer.Step();
            optimizer.ZeroGrad();
            return gradNorm;
        });
        // Logging reads two scalars: the only host synchronisation of the step.
        var values = output.Metrics;
        values[MetricPoint.Keys.Loss] = output.Loss.item<float>();
        if (output.GradNorm is { } norm) values[MetricPoint.Keys.GradNorm] = norm.item<float>();
        return (values, output.Tokens);
    }

    private void Evaluate<TExample>(TrainingObjective<TExample> objective, LoraModel lora, IReadOnlyList<TExample> validation, long step, long totalSteps, double epoch)
        where TExample : class
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        lora.Model.eval();
        double weighted = 0, weights = 0;
        foreach (var chunk in validation.Chunk(_args.BatchSize))
        {
            var (loss, weight) = objective.Evaluate(lora, chunk);
            weighted += loss;
            weights += weight;
        }
        var value = weighted / Math.Max(weights, 1e-9);
        recorder.Record(step, totalSteps, epoch, new Dictionary<string, double> { [objective.EvalMetric] = value });
        var what = MetricCatalogue.Find(objective.EvalMetric)?.Name.ToLowerInvariant() ?? objective.EvalMetric;
        recorder.Log(RunLogLevel.Info, $"Step {step}: {what} {value:0.####} on {validation.Count} examples.");
    }

    private void SaveCheckpoint<TExample>(TrainingObjective<TExample> objective, LoraModel lora, AdamWOptimizer optimizer, long step, int epoch)
        where TExample : class
    {
        // A worker that lost the run writes no checkpoint either: the next owner could resume from it.
        if (!recorder.MayWrite) return;
        if (_checkpoints.Save(lora, optimizer, step, epoch, objective.SaveState)) recorder.Log(RunLogLevel.Info, $"Checkpoint saved at step {step}.");
    }

    private async Task<List<TExample>> LoadAsync<TExample>(TrainingObjective<TExample> objective, DatasetPart part, CancellationToken cancellationToken)
        where TExample : class
    {
        var list = new List<TExample>();
        await foreach (var example in datasets.ReadAsync(dataset, part, cancellationToken))
        {
            if (objective.Tokenize(example) is { } tokenized) list.Add(tokenized);
        }
        return list;
    }

    private static int[] Shuffled(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}

using System.Diagnostics;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Training;

/// <summary>
/// End to end on CPU: a reference base (2 layers) + fresh LoRA learns 20 chat examples (chat template +
/// assistant masking) with AdamW, warm-up, clipping and a learning rate halved whenever the loss stops falling, until
/// the loss is below 0.1; then greedy generation reproduces the answers.
/// </summary>
/// <remarks>
/// The schedule is driven by the loss, not by a fixed horizon: a cosine over a set number of steps was tuned to the
/// bundled models and ran out of learning rate on other models of the same layout (a tied-embedding model with 8 query
/// and 2 key/value heads ended at loss 0.29 after 300 steps). Training stops as soon as the loss criterion holds, so a
/// model that learns fast costs no more than before; <see cref="MaxSteps"/> only bounds a model that cannot learn.
/// </remarks>
[OuterTier("trains a model until it has memorised its data: hundreds of steps")]
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class MemorisationTests(ITestOutputHelper output)
{
    static readonly string[] Words =
    [
        "apple", "river", "stone", "cloud", "tiger", "maple", "ocean", "piano", "lemon", "candle",
        "forest", "silver", "rocket", "garden", "window", "planet", "butter", "castle", "violet", "thunder",
    ];

    const double TargetLogitStd = 3.0;
    const double StopLoss = 0.02; // a little past the 0.1 goal, so that greedy decoding is reliably right

    // The loss is read every LossEvery steps ("logging"). After PlateauChecks reads without a new best (by 1 %), the
    // learning rate halves, down to MinLearningRate (as PyTorch's ReduceLROnPlateau). Measured: tiny-llama stops after
    // 60 steps, tiny-qwen2 after 160, a tied model with 8 query and 2 key/value heads after 140; the cap is ten times
    // the old fixed 300.
    const int MaxSteps = 3000, Warmup = 10, LossEvery = 10, PlateauChecks = 5;
    const double MinLearningRate = 1e-4;

    static readonly string[] Names =
    [
        "Alice", "Bruno", "Chen", "Dara", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jules",
        "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
    ];

    internal static List<ChatMessage[]> Dataset() => Words.Select((w, i) => new[]
    {
        new ChatMessage("user", $"What did {Names[i]} hide?"),
        new ChatMessage("assistant", $"It is {w}."),
    }).ToList();

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void TwentyExamples_AreMemorised(string model)
    {
        using var scope = torch.NewDisposeScope();
        string dir = ReferenceModels.PathOf(model);
        var tokenizer = HfTokenizer.Load(dir);
        var template = ChatTemplate.Load(dir);
        var masking = new AssistantMasking(tokenizer, template);
        var examples = Dataset().Select(c => masking.Tokenize(c)).ToList();
        Assert.All(examples, e => Assert.Contains(e.Labels, l => l != SupervisedExample.IgnoreIndex));

        using var lm = ForCausalLM.FromPretrained(dir);
        using var batch = SftBatch.Collate(examples, tokenizer.PadTokenId ?? 0);
        // The reference bases are random with embeddings of std 0.02: their logits stay within about ±1.5, so no
        // adapter could bring the loss near 0.1 (a uniform 512-way guess is 6.2). Sharpen the frozen final norm so the
        // output scale of a trained model (logit std ≈ 3) is reachable; everything learned still goes through LoRA.
        using (torch.no_grad())
        {
            double std = lm.forward(batch.InputIds, batch.AttentionMask).std().item<float>();
            double sharpening = Math.Max(1.0, TargetLogitStd / std); // 1 for a trained base: it already has such logits
            output.WriteLine($"{model}: initial logit std {std:G3}, final norm scaled by {sharpening:G3}");
            lm.model.norm.weight!.mul_(sharpening);
        }
        torch.manual_seed(1234);
        var lora = LoraModel.Inject(lm, new LoraConfig(16, 32, 0.0, LoraConfig.AllProjections));
        lm.train();
        var options = new AdamWOptions(LearningRate: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.0);
        using var optimizer = new AdamWOptimizer(lora.TrainableParameters, options);
        var clock = Stopwatch.StartNew();
        double loss = double.NaN, best = double.PositiveInfinity, learningRate = options.LearningRate;
        int step, checksSinceBest = 0;
        for (step = 0; step < MaxSteps; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            optimizer.LearningRate = learningRate * LearningRateSchedule.ConstantWithWarmup(step, Warmup);
            var l = lm.Loss(batch.InputIds, batch.Labels, batch.AttentionMask);
            l.backward();
            optimizer.ClipGradNorm(1.0);
            optimizer.Step();
            optimizer.ZeroGrad();
            if (step % LossEvery != LossEvery - 1) continue; // read the loss only when "logging"
            loss = l.item<float>();
            if (loss < StopLoss) break;
            if (loss < best * 0.99) (best, checksSinceBest) = (loss, 0);
            else if (++checksSinceBest >= PlateauChecks && learningRate > MinLearningRate)
            {
                learningRate = Math.Max(MinLearningRate, learningRate / 2);
                checksSinceBest = 0;
                output.WriteLine($"{model}: step {step + 1}, loss {loss:G4}: learning rate halved to {learningRate:G3}");
            }
        }
        var steps = Math.Min(step + 1, MaxSteps);
        output.WriteLine($"{model}: loss {loss:G4} after {steps} steps, {clock.Elapsed.TotalSeconds:F1} s");
        clock.Restart();
        Assert.True(loss < 0.1, $"{model}: loss {loss} after {steps} steps");

        lm.eval();
        var eos = tokenizer.EosTokenId!.Value;
        int correct = 0;
        foreach (var (conversation, word) in Dataset().Zip(Words))
        {
            var prompt = tokenizer.Encode(template.Render([conversation[0]], addGenerationPrompt: true)).Select(i => (long)i).ToArray();
            var result = TextGenerator.Generate(lm, prompt, new GenerationOptions { MaxNewTokens = 12, Temperature = 0, StopTokenIds = [(long)eos] });
            var text = tokenizer.Decode(result.TokenIds.Select(i => (int)i));
            if (text == $"It is {word}.") correct++;
            else output.WriteLine($"{model}: '{conversation[0].Content}' -> '{text}'");
        }
        output.WriteLine($"{model}: generation {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"{model}: {correct}/20 answers reproduced by greedy generation");
        Assert.True(correct >= 18, $"{model}: only {correct}/20 answers reproduced");
    }
}

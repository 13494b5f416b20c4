using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Jobs.Engine.Generation;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Evaluations;

/// <summary>What one model produced for one prompt.</summary>
/// <param name="Loss">Mean cross-entropy of the reference's tokens (the assistant turn) given the prompt; null when none could be scored.</param>
public sealed record GeneratedAnswer(string Text, int Tokens, bool Stopped, double? Loss, int ReferenceTokens);

/// <summary>
/// One evaluated model loaded on the engine: a Hugging Face folder (the base or a complete model), optionally with a PEFT
/// adapter (a customized model). Answers prompts with the model's own chat template and fixed decoding settings, and
/// scores the reference answer's likelihood with the loss the trainer uses (labels on the assistant turn only).
/// Prompts are answered in batches by the batched decoder (<see cref="BatchGenerator"/>: greedy answers are the same as one
/// at a time).
/// </summary>
public sealed class AnswerGenerator : IDisposable
{
    private readonly ForCausalLM _model;
    private readonly HfTokenizer _tokenizer;
    private readonly ChatTemplate _template;
    private readonly AssistantMasking _masking;
    private readonly IReadOnlyCollection<long> _stop;

    public AnswerGenerator(string modelFolder, string? adapterFolder)
    {
        TorchRuntime.EnsureInitialized();
        _tokenizer = HfTokenizer.Load(modelFolder);
        _template = ChatTemplate.Load(modelFolder);
        _masking = new AssistantMasking(_tokenizer, _template);
        _stop = StopTokenIds.Of(modelFolder, _tokenizer);
        _model = ForCausalLM.FromPretrained(modelFolder, ScalarType.Float32, TorchRuntime.DefaultDevice);
        if (adapterFolder is not null) PeftAdapter.Load(_model, adapterFolder);
        _model.eval();
    }

    /// <summary>Answers <paramref name="prompts"/> in one batched generation.</summary>
    /// <param name="seed">the sampling seed of this batch (unused when greedy)</param>
    public IReadOnlyList<GeneratedAnswer> Answer(IReadOnlyList<EvaluationPrompt> prompts, int maxNewTokens, double temperature, double topP, long seed,
        CancellationToken cancellationToken)
    {
        var conversations = prompts.Select(p => p.Prompt.Select(m => new ChatMessage(m.Role, m.Content)).ToList()).ToList();
        var promptIds = conversations
            .Select(messages => (IReadOnlyList<long>)_tokenizer.Encode(_template.Render(messages, addGenerationPrompt: true)).Select(i => (long)i).ToList())
            .ToList();
        var generated = BatchGenerator.Generate(_model, promptIds, new GenerationOptions
        {
            MaxNewTokens = maxNewTokens,
            Temperature = temperature,
            TopP = topP,
            Seed = seed,
            StopTokenIds = _stop,
        }, _tokenizer, padTokenId: _stop.FirstOrDefault(), cancellationToken: cancellationToken);
        return prompts.Select((prompt, i) =>
        {
            var (loss, referenceTokens) = ReferenceLoss(conversations[i], prompt.Reference, promptIds[i].Count);
            return new GeneratedAnswer(generated[i].Text.Trim(), generated[i].TokenIds.Length, generated[i].StopTokenId is not null, loss, referenceTokens);
        }).ToList();
    }

    /// <summary>The model's mean loss on the reference answer as the assistant's next turn, and over how many tokens.</summary>
    private (double? Loss, int Tokens) ReferenceLoss(List<ChatMessage> prompt, string reference, int promptLength)
    {
        var example = _masking.Tokenize([.. prompt, new ChatMessage(DatasetRoles.Assistant, reference)]);
        var labels = example.Labels.ToArray();
        // Earlier assistant turns in the prompt are context, not the answer being scored.
        for (var i = 0; i < Math.Min(promptLength, labels.Length); i++) labels[i] = SupervisedExample.IgnoreIndex;
        var scored = labels.Skip(1).Count(l => l != SupervisedExample.IgnoreIndex); // the first position is never predicted
        if (scored == 0) return (null, 0);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(example.InputIds.Select(i => (long)i).ToArray(), ScalarType.Int64, _model.Device).unsqueeze(0);
        var target = torch.tensor(labels.Select(l => (long)l).ToArray(), ScalarType.Int64, _model.Device).unsqueeze(0);
        var loss = CausalLMLoss.FromLogits(_model.forward(input), target);
        return (loss.item<float>(), scored);
    }

    public void Dispose() => _model.Dispose();
}

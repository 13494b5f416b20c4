using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>
/// A padding-free SFT batch (TRL's <c>padding_free</c>): the micro-batch's whole examples laid end to end in rows of at
/// most <c>rowCapacity</c> tokens, each example a document of its row. Positions restart at every document and a token
/// attends only to earlier tokens of its own document (<see cref="DocumentIds"/>), so each example is computed exactly
/// as it would be alone; the label of each document's first token is -100, so no example predicts from the one before.
/// Only the ends of rows are padding. Tensors are [R, T] int64.
/// </summary>
public sealed class PackedBatch : IDisposable
{
    public Tensor InputIds { get; }
    public Tensor Labels { get; }
    public Tensor PositionIds { get; }
    /// <summary>1, 2, … per document within its row; 0 on the padding at a row's end. Null when no row holds more than
    /// one example: the batch is then a right-padded one, for which attention's causal flag alone is exact (and lets CUDA
    /// use its flash kernels, which an explicit mask rules out).</summary>
    public Tensor? DocumentIds { get; }
    /// <summary>Scored label tokens (host count, as <see cref="SftBatch.LabelTokens"/>).</summary>
    public long LabelTokens { get; }
    /// <summary>Real tokens, and the row slots they fill (rows × row length): the share that is not padding.</summary>
    public long Tokens { get; }
    public long Slots { get; }
    /// <summary>Which row each example went to, in the examples' order.</summary>
    public IReadOnlyList<int> RowOf { get; }

    PackedBatch(Tensor ids, Tensor labels, Tensor positions, Tensor? documents, long labelTokens, long tokens, long slots, int[] rowOf)
    {
        InputIds = ids; Labels = labels; PositionIds = positions; DocumentIds = documents;
        LabelTokens = labelTokens; Tokens = tokens; Slots = slots; RowOf = rowOf;
    }

    /// <summary>
    /// Packs <paramref name="examples"/> (each truncated at <paramref name="maxLength"/> when given) into rows of at most
    /// <paramref name="rowCapacity"/> tokens (at least the longest example), longest first, each into the first row
    /// with room (first-fit decreasing). A capacity of the longest example gives rows no longer than padding would, so
    /// attention through a mask costs no more than the padded batch; a capacity of the total gives one row.
    /// </summary>
    public static PackedBatch Pack(IReadOnlyList<SupervisedExample> examples, long padTokenId, long? rowCapacity = null, Device? device = null, int? maxLength = null)
    {
        if (examples.Count == 0) throw new ArgumentException("empty batch", nameof(examples));
        var lengths = examples.Select(e => maxLength is { } max ? Math.Min(e.InputIds.Length, max) : e.InputIds.Length).ToArray();
        long capacity = Math.Max(rowCapacity ?? lengths.Max(), lengths.Max());

        var rowOf = new int[examples.Count];
        var rowFill = new List<long>();
        foreach (var i in Enumerable.Range(0, examples.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i))
        {
            var row = rowFill.FindIndex(fill => fill + lengths[i] <= capacity);
            if (row < 0) { row = rowFill.Count; rowFill.Add(0); }
            rowOf[i] = row;
            rowFill[row] += lengths[i];
        }

        int r = rowFill.Count;
        var t = (int)rowFill.Max();
        var ids = new long[r * t];
        var labels = new long[r * t];
        var positions = new long[r * t];
        var documents = new long[r * t];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, CausalLMLoss.IgnoreIndex);
        var next = new int[r];
        var documentCount = new int[r];
        long labelTokens = 0, tokens = 0;
        for (var i = 0; i < examples.Count; i++) // documents in the examples' order within each row
        {
            var e = examples[i];
            int row = rowOf[i], start = next[row], document = ++documentCount[row];
            for (var j = 0; j < lengths[i]; j++)
            {
                var at = row * t + start + j;
                ids[at] = e.InputIds[j];
                // The first token is never predicted: within a document it has nothing before it.
                labels[at] = j == 0 ? CausalLMLoss.IgnoreIndex : e.Labels[j];
                positions[at] = j;
                documents[at] = document;
                if (j > 0 && e.Labels[j] != CausalLMLoss.IgnoreIndex) labelTokens++;
            }
            next[row] += lengths[i];
            tokens += lengths[i];
        }
        // The padding at a row's end is a document of its own (id 0), attended to by nothing else.
        for (var row = 0; row < r; row++)
        {
            for (var j = next[row]; j < t; j++) positions[row * t + j] = j - next[row];
        }

        device ??= torch.CPU;
        return new PackedBatch(
            torch.tensor(ids, [r, t]).to(device).DetachFromDisposeScope(),
            torch.tensor(labels, [r, t]).to(device).DetachFromDisposeScope(),
            torch.tensor(positions, [r, t]).to(device).DetachFromDisposeScope(),
            documentCount.Max() > 1 ? torch.tensor(documents, [r, t]).to(device).DetachFromDisposeScope() : null,
            labelTokens, tokens, (long)r * t, rowOf);
    }

    /// <summary>The mean causal-LM loss over the batch's label tokens: the same tokens, and so the same value, as the
    /// examples padded (<see cref="SftBatch.Loss"/>).</summary>
    public Tensor Loss(ForCausalLM model) => model.Loss(InputIds, Labels, positionIds: PositionIds, documentIds: DocumentIds);

    public void Dispose()
    {
        InputIds.Dispose(); Labels.Dispose(); PositionIds.Dispose(); DocumentIds?.Dispose();
    }
}

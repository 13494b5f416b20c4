using System.Globalization;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class ModelCardView
{
    [Parameter, EditorRequired]
    public required ModelCard Card { get; set; }

    private IEnumerable<(string Label, string Value)> Facts()
    {
        var c = Card;
        yield return ("Architecture", c.Architecture + (c.ModelType is null ? "" : $" ({c.ModelType})"));
        yield return ("Parameters", $"{c.ParameterCountDisplay} ({c.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)})");
        yield return ("Hidden size", Show(c.HiddenSize));
        yield return ("Intermediate size", Show(c.IntermediateSize));
        yield return ("Layers", Show(c.NumLayers));
        yield return ("Attention heads / KV heads", $"{Show(c.NumAttentionHeads)} / {Show(c.NumKeyValueHeads)}");
        if (c.HeadDim is not null) yield return ("Head dimension", Show(c.HeadDim));
        yield return ("Vocabulary size", Show(c.VocabSize));
        yield return ("Context length", Show(c.ContextLength));
        yield return ("Dtype", $"{c.Dtype ?? "—"} (weights: {string.Join(", ", c.WeightDtypes)})");
        yield return ("RoPE theta", c.RopeTheta?.ToString("G", CultureInfo.InvariantCulture) ?? "—");
        if (c.RopeScalingType is not null) yield return ("RoPE scaling", c.RopeScalingType);
        yield return ("Tied embeddings", c.TieWordEmbeddings switch { true => "yes", false => "no", null => "—" });
        yield return ("Special tokens", $"BOS {Show(c.BosTokenId)}, EOS {(c.EosTokenIds.Count == 0 ? "—" : string.Join(", ", c.EosTokenIds))}, PAD {Show(c.PadTokenId)}");
        yield return ("Tokenizer", c.HasTokenizer ? "present" : "missing");
        yield return ("Chat template", c.HasChatTemplate ? "present" : "missing");
        yield return ("Weights", $"{c.WeightFileCount} safetensors file(s), {ByteSize.Format(c.WeightBytes)}");
        yield return ("Config layout", $"{c.ConfigLayout ?? "—"}{(c.TransformersVersion is null ? "" : $", written by transformers {c.TransformersVersion}")}");
    }

    private static string Show(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "—";
}

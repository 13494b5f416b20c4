using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Core.Training;

namespace DeepExtension.Web.Components.Controls;

/// <summary>One labelled fact of a model card; <see cref="Time"/> renders in the user's local time.</summary>
public sealed record CardFact(string Label, string Text, DateTime? Time = null, bool Mono = false);

/// <summary>A titled section of a model card (Architecture, Training, Data lineage, Evaluation, …).</summary>
public sealed record CardSection(string Title, IReadOnlyList<CardFact> Facts);

/// <summary>
/// Turns the three kinds of model card into labelled sections with units and formatted numbers: a base model's
/// <see cref="ModelCard"/>, a customized model's training card and a complete model's card (its base card plus the
/// training card). Keys a card has that no section knows are kept under "Other", so nothing is hidden.
/// </summary>
public static class CardFacts
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static IReadOnlyList<CardSection> OfBaseModel(ModelCard c) =>
    [
        new("Architecture",
        [
            new("Architecture", c.Architecture + (c.ModelType is null ? "" : $" ({c.ModelType})")),
            new("Parameters", $"{c.ParameterCountDisplay} ({DisplayFormat.Count(c.ParameterCount)})"),
            new("Layers", Show(c.NumLayers)),
            new("Hidden size", Show(c.HiddenSize)),
            new("Intermediate size", Show(c.IntermediateSize)),
            new("Attention heads / KV heads", $"{Show(c.NumAttentionHeads)} / {Show(c.NumKeyValueHeads)}"),
            .. c.HeadDim is null ? Array.Empty<CardFact>() : [new CardFact("Head dimension", Show(c.HeadDim))],
            new("Context length", c.ContextLength is { } context ? $"{DisplayFormat.Count(context)} tokens" : DisplayFormat.Missing),
            new("RoPE theta", c.RopeTheta is { } theta ? theta.ToString("#,0.###", Invariant) : DisplayFormat.Missing),
            .. c.RopeScalingType is null ? Array.Empty<CardFact>() : [new CardFact("RoPE scaling", c.RopeScalingType)],
            new("Tied embeddings", c.TieWordEmbeddings switch { true => "yes", false => "no", null => DisplayFormat.Missing }),
        ]),
        new("Weights",
        [
            new("Dtype", c.Dtype ?? DisplayFormat.Missing),
            new("Stored dtypes", c.WeightDtypes.Count == 0 ? DisplayFormat.Missing : string.Join(", ", c.WeightDtypes)),
            new("Files", $"{c.WeightFileCount} safetensors file{(c.WeightFileCount == 1 ? "" : "s")}"),
            new("Size", DisplayFormat.Size(c.WeightBytes)),
            new("Config layout", $"{c.ConfigLayout ?? DisplayFormat.Missing}{(c.TransformersVersion is null ? "" : $", written by transformers {c.TransformersVersion}")}"),
        ]),
        new("Tokenizer",
        [
            new("Vocabulary size", c.VocabSize is { } vocab ? $"{DisplayFormat.Count(vocab)} tokens" : DisplayFormat.Missing),
            new("Tokenizer", c.HasTokenizer ? "present" : "missing"),
            new("Chat template", c.HasChatTemplate ? "present" : "missing"),
            new("Special tokens", $"BOS {Token(c, c.BosTokenId)}, EOS {(c.EosTokenIds.Count == 0 ? DisplayFormat.Missing : string.Join(", ", c.EosTokenIds.Select(id => Token(c, id))))}, PAD {Token(c, c.PadTokenId)}"),
        ]),
    ];

    /// <summary>Where a base model came from when it was downloaded from the Hub: the repository, the revision asked for and the commit it resolved to.</summary>
    public static CardSection OfDownload(HubDownload download) => new("Source",
    [
        new("Hugging Face repository", download.Repository, Mono: true),
        new("Revision", download.Revision, Mono: true),
        new("Commit", download.Commit, Mono: true),
        new("Downloaded", DisplayFormat.Utc(download.FinishedAtUtc), download.FinishedAtUtc),
    ]);

    /// <summary>A special token as its text and id ("<|im_end|> (2)"), or its id alone when the card has no text for it.</summary>
    private static string Token(ModelCard card, int? id) => id is { } i
        ? card.SpecialTokenTexts.TryGetValue(i, out var text) ? $"{text} ({i})" : i.ToString(Invariant)
        : DisplayFormat.Missing;

    /// <summary>A customized model's card (as CustomizedModelService writes it).</summary>
    public static IReadOnlyList<CardSection> OfTrainingCard(JsonObject card)
    {
        var sections = new List<CardSection>();
        var known = new HashSet<string>(StringComparer.Ordinal) { "base_model", "train", "dataset", "parameters", "evaluation" };
        var baseModel = card["base_model"] as JsonObject;
        var train = card["train"] as JsonObject;
        var dataset = card["dataset"] as JsonObject;

        var training = new List<CardFact>();
        if (train is not null)
        {
            training.Add(new("Train", Text(train["name"])));
            var method = Text(train["method"]);
            var algorithm = Text(train["algorithm"]);
            training.Add(new("Method", method.Contains(algorithm, StringComparison.OrdinalIgnoreCase) ? method : $"{method} ({algorithm})"));
            var started = DisplayFormat.ParseUtc(Text(train["started_utc"], null));
            var finished = DisplayFormat.ParseUtc(Text(train["finished_utc"], null));
            training.Add(new("Started", DisplayFormat.Utc(started), started));
            training.Add(new("Finished", DisplayFormat.Utc(finished), finished));
            if (started is { } s && finished is { } f) training.Add(new("Duration", DisplayFormat.Duration(f - s)));
            training.Add(new("Steps", DisplayFormat.Count(Number(train["steps"]) is { } steps ? (long)steps : null)));
            training.Add(new("Epochs", DisplayFormat.Epoch(Number(train["epochs"]))));
            training.Add(new("Train id", Text(train["run_id"]), Mono: true));
        }
        if (training.Count > 0) sections.Add(new("Training", training));

        var lineage = new List<CardFact>();
        if (baseModel is not null)
        {
            lineage.Add(new("Base model", $"{Text(baseModel["technical_name"])} ({Text(baseModel["model_name"])})"));
            if (baseModel["architecture"] is { } architecture) lineage.Add(new("Architecture", Text(architecture)));
        }
        if (dataset is not null)
        {
            lineage.Add(new("Dataset", $"{Text(dataset["name"])} v{Text(dataset["version"])}"));
            lineage.Add(new("Rows", DisplayFormat.Count(Number(dataset["rows"]) is { } rows ? (long)rows : null)));
            lineage.Add(new("Layout", Text(dataset["format"])));
            lineage.Add(new("Content SHA-256", Text(dataset["sha256"]), Mono: true));
        }
        if (lineage.Count > 0) sections.Add(new("Data lineage", lineage));

        if (card["evaluation"] is JsonObject evaluation)
        {
            sections.Add(new("Evaluation",
            [
                new("Final training loss", DisplayFormat.Loss(Number(evaluation["final_loss"]))),
                new("Best training loss", DisplayFormat.Loss(Number(evaluation["best_loss"]))),
                new("Best evaluation loss", evaluation["best_eval_loss"] is null ? "not evaluated (no validation split)" : DisplayFormat.Loss(Number(evaluation["best_eval_loss"]))),
            ]));
        }

        if (card["parameters"] is JsonObject parameters && parameters.Count > 0)
        {
            sections.Add(new("Parameters", [.. parameters.Select(p => new CardFact(ParameterLabel(p.Key), ParameterValue(p.Value)))]));
        }
        AddOther(sections, card, known);
        return sections;
    }

    /// <summary>A complete model's card (as CompleteModelService writes it): the save, the base card, the training card.</summary>
    public static IReadOnlyList<CardSection> OfCompleteCard(JsonObject card)
    {
        var sections = new List<CardSection>();
        var known = new HashSet<string>(StringComparer.Ordinal) { "name", "customized_model", "saved_utc", "quantization", "base_model", "training", CompleteModelService.FolderCardKey };
        var saved = DisplayFormat.ParseUtc(Text(card["saved_utc"], null));
        sections.Add(new("Saved model",
        [
            new("Name", Text(card["name"]), Mono: true),
            new("Saved from", Text(card["customized_model"]), Mono: true),
            new("Saved", DisplayFormat.Utc(saved), saved),
            new("Quantization", Text(card["quantization"]) == "no_quantization" ? "none (full precision)" : Text(card["quantization"])),
        ]));
        // The merged folder's own card (its files, size, dtypes); cards saved before it was recorded have the base's only.
        if ((card[CompleteModelService.FolderCardKey] ?? card["base_model"]?["card"]) is JsonObject baseCard && Deserialize(baseCard) is { } modelCard)
        {
            var architecture = OfBaseModel(modelCard);
            sections.Add(architecture[0] with { Facts = [new("Base model", $"{Text(card["base_model"]?["technical_name"])} ({Text(card["base_model"]?["model_name"])})"), .. architecture[0].Facts] });
            sections.AddRange(architecture.Skip(1));
        }
        if (card["training"] is JsonObject training) sections.AddRange(OfTrainingCard(training));
        AddOther(sections, card, known);
        return sections;
    }

    /// <summary>Parses a stored card; an empty object when it is missing or not JSON (shown as such, never an error page).</summary>
    public static JsonObject Parse(string? json)
    {
        try
        {
            return JsonNode.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static ModelCard? Deserialize(JsonObject card)
    {
        try
        {
            return card.Deserialize<ModelCard>();
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    private static void AddOther(List<CardSection> sections, JsonObject card, HashSet<string> known)
    {
        var other = card.Where(p => !known.Contains(p.Key)).Select(p => new CardFact(p.Key, ParameterSpec.Format(p.Value))).ToList();
        if (other.Count > 0) sections.Add(new("Other", other));
    }

    private static string Text(JsonNode? node) => Text(node, DisplayFormat.Missing)!;

    private static string? Text(JsonNode? node, string? missing) => node switch
    {
        null => missing,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static double? Number(JsonNode? node) => node is not null && ParameterSpec.TryGetNumber(node, out var n) ? n : null;

    /// <summary>The schema's label of a training parameter ("Learning rate"); the key itself when no method knows it.</summary>
    public static string ParameterLabel(string key) =>
        AlgorithmCatalog.All.Select(a => a.Find(key)).FirstOrDefault(p => p is not null)?.Label ?? key;

    /// <summary>A training parameter's value as the schema formats it; an empty text reads "(none)".</summary>
    public static string ParameterValue(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue<string>(out var text) && text.Length == 0 ? "(none)" : ParameterSpec.Format(value);

    private static string Show(int? value) => value is { } v ? DisplayFormat.Count(v) : DisplayFormat.Missing;
}

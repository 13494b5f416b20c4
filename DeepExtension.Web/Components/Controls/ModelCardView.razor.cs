using DeepExtension.Core.HubDownloads;
using System.Text.Json;
using DeepExtension.Core.BaseModels;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// Any model card (a base model's <see cref="ModelCard"/>, or a customized / complete model's stored JSON card) as
/// sections; see <see cref="CardFacts"/>.
/// </summary>
public partial class ModelCardView
{
    /// <summary>A base model's card.</summary>
    [Parameter]
    public ModelCard? Card { get; set; }

    /// <summary>A stored card (customized or complete model) when <see cref="Card"/> is not given.</summary>
    [Parameter]
    public string? CardJson { get; set; }

    /// <summary>True for a complete model's card (base card + training card), false for a customized model's.</summary>
    [Parameter]
    public bool Complete { get; set; }

    /// <summary>Where the model came from, when it was downloaded from the Hub (shown first, as its own section).</summary>
    [Parameter]
    public HubDownload? Download { get; set; }

    /// <summary>The download's file name, without extension.</summary>
    [Parameter]
    public string FileName { get; set; } = "model";

    private bool _raw;

    private string Json { get; set; } = "{}";

    private IReadOnlyList<CardSection> Sections { get; set; } = [];

    private string DownloadHref => "data:application/json;charset=utf-8," + Uri.EscapeDataString(Json);

    protected override void OnParametersSet()
    {
        if (Card is not null)
        {
            Json = JsonSerializer.Serialize(Card, CardFacts.Indented);
            Sections = Download is null ? CardFacts.OfBaseModel(Card) : [CardFacts.OfDownload(Download), .. CardFacts.OfBaseModel(Card)];
            return;
        }
        var card = CardFacts.Parse(CardJson);
        Json = card.ToJsonString(CardFacts.Indented);
        Sections = Complete ? CardFacts.OfCompleteCard(card) : CardFacts.OfTrainingCard(card);
    }

    private static string Slug(string label) =>
        string.Concat(label.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-')).Trim('-');
}

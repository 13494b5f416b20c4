namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// Colours of compared runs: by position in the selection from one fixed palette, so a run has the same colour in
/// every chart and table of the page (and the same selection gets the same colours next time).
/// </summary>
public static class RunColours
{
    /// <summary>Tableau 10: distinct on light and dark backgrounds.</summary>
    public static readonly IReadOnlyList<string> Palette =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    public static string At(int position) => Palette[((position % Palette.Count) + Palette.Count) % Palette.Count];
}

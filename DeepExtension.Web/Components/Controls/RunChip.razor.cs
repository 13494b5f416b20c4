using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class RunChip
{
    /// <summary>A CSS colour from <see cref="RunColours"/>.</summary>
    [Parameter, EditorRequired]
    public required string Colour { get; set; }
}

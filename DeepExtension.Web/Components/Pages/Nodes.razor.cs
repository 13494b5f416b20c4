using DeepExtension.Jobs.Nodes;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class Nodes
{
    /// <summary>How often the page reads the nodes table again: a lost node shows within this of its threshold.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    [Inject] private NodeService NodeService { get; set; } = null!;

    private IReadOnlyList<NodeView>? _nodes;
    private readonly CancellationTokenSource _stop = new();

    private TimeSpan LostAfter => NodeService.LostAfter;

    protected override async Task OnInitializedAsync()
    {
        _nodes = await NodeService.ListAsync(_stop.Token);
        _ = RefreshLoopAsync();
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                _nodes = await NodeService.ListAsync(_stop.Token);
                await InvokeAsync(StateHasChanged);
            }
        }
        catch (OperationCanceledException)
        {
            // The page closed.
        }
    }

    private static Color StateColour(NodeState state) => state switch
    {
        NodeState.Online => Color.Success,
        NodeState.Lost => Color.Error,
        _ => Color.Default,
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _stop.Dispose();
    }
}

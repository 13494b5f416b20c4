using DeepExtension.Core.Accounts;
using DeepExtension.Core.Arena;
using DeepExtension.Core.Common;
using DeepExtension.Core.Deployment;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Web;
using MudBlazor;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// The arena of Live Models: two deployed models answer one prompt at the same time (both streamed from their Ollama),
/// shown on sides drawn at random per round and, when blind, without their names until the vote is recorded.
/// </summary>
public partial class ArenaPanel : IDisposable
{
    private static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The deployments that can answer now (deployed and present in their Ollama).</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<ModelDeployment> Models { get; set; } = [];

    [Parameter]
    public EventCallback OnClose { get; set; }

    [CascadingParameter]
    public Task<AuthenticationState>? Authentication { get; set; }

    [Inject]
    public required DeploymentService Deployments { get; init; }

    [Inject]
    public required ArenaService Arena { get; init; }

    private Guid? _firstId;
    private Guid? _secondId;
    private bool _blind = true;
    private string _draft = "";
    private Round? _round;
    private bool _canVote;
    private bool _voting;
    private string? _voteError;
    private ArenaPairTally? _tally;
    private IReadOnlyList<ArenaPairTally> _tallies = [];
    private DateTime _lastRender = DateTime.MinValue;

    private bool Streaming => _round is { Streaming: true };

    private bool CanSend => !Streaming && !string.IsNullOrWhiteSpace(_draft) && Selected() is not null;

    protected override async Task OnInitializedAsync()
    {
        // What the services enforce, shown before anyone clicks: Viewers change nothing, votes included.
        if (Authentication is not null)
        {
            var user = (await Authentication).User;
            _canVote = user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Member);
        }
        await LoadTalliesAsync();
    }

    protected override async Task OnParametersSetAsync()
    {
        // A round in progress keeps its models; otherwise keep the chosen ones while available, else take the first two that are.
        if (Streaming) return;
        var ids = Models.Select(m => m.Id).ToList();
        var before = (_firstId, _secondId);
        if (_firstId is not { } first || !ids.Contains(first)) _firstId = ids.Where(id => id != _secondId).Select(id => (Guid?)id).FirstOrDefault();
        if (_secondId is not { } second || !ids.Contains(second)) _secondId = ids.Where(id => id != _firstId).Select(id => (Guid?)id).FirstOrDefault();
        if ((_firstId, _secondId) != before || _tally is null) await LoadPairTallyAsync();
    }

    private (ModelDeployment First, ModelDeployment Second)? Selected()
    {
        var first = Models.FirstOrDefault(m => m.Id == _firstId);
        var second = Models.FirstOrDefault(m => m.Id == _secondId);
        return first is null || second is null || first.Id == second.Id ? null : (first, second);
    }

    private async Task SetFirstAsync(Guid? id)
    {
        _firstId = id;
        _round = null;
        await LoadPairTallyAsync();
    }

    private async Task SetSecondAsync(Guid? id)
    {
        _secondId = id;
        _round = null;
        await LoadPairTallyAsync();
    }

    private async Task LoadTalliesAsync() => _tallies = await Arena.TalliesAsync();

    private async Task LoadPairTallyAsync() =>
        _tally = Selected() is { } pair ? await Arena.TallyAsync(pair.First.Id, pair.Second.Id) : null;

    private async Task KeyDownAsync(KeyboardEventArgs e)
    {
        if (e is { Key: "Enter", ShiftKey: false }) await SendAsync();
    }

    private async Task SendAsync()
    {
        if (!CanSend || Selected() is not { } pair) return;
        // A fresh draw per round, so a side says nothing about which model it is.
        var (a, b) = Random.Shared.Next(2) == 0 ? (pair.First, pair.Second) : (pair.Second, pair.First);
        var round = new Round(_draft.Trim(), new Side("A", a), new Side("B", b));
        _round = round;
        _draft = "";
        _voteError = null;
        await Task.WhenAll(round.Sides.Select(side => StreamAsync(round, side)));
    }

    /// <summary>One side's answer, read piece by piece; both sides run at once on the circuit's context.</summary>
    private async Task StreamAsync(Round round, Side side)
    {
        try
        {
            await foreach (var piece in Deployments.ChatAsync(side.Deployment.Id, [new ChatTurn("user", round.Prompt)], round.Cancel.Token))
            {
                side.Answer += piece;
                if (DateTime.UtcNow - _lastRender >= RenderInterval)
                {
                    _lastRender = DateTime.UtcNow;
                    StateHasChanged();
                }
            }
        }
        catch (OperationCanceledException) when (round.Cancel.IsCancellationRequested)
        {
            side.Stopped = true;
            side.Answer += " [stopped]";
        }
        catch (OllamaDeployException ex)
        {
            side.Error = ex.Message;
        }
        finally
        {
            side.Done = true;
            StateHasChanged();
        }
    }

    private void Stop() => _round?.Cancel.Cancel();

    private async Task VoteAsync(ArenaVerdict verdict)
    {
        if (_round is not { CanVote: true } round || _voting) return;
        _voting = true;
        try
        {
            var result = await Arena.RecordVoteAsync(new ArenaVoteRequest(round.A.Deployment.Id, round.B.Deployment.Id, round.Prompt,
                round.A.Answer, round.B.Answer, verdict));
            if (!result.Succeeded)
            {
                _voteError = result.AllErrors;
                return;
            }
            _voteError = null;
            round.Verdict = verdict;
            await LoadPairTallyAsync();
            await LoadTalliesAsync();
        }
        finally
        {
            _voting = false;
        }
    }

    private Task Close() => OnClose.InvokeAsync();

    private static string Plural(int count, string one, string? many = null) =>
        $"{DisplayFormat.Count(count)} {(count == 1 ? one : many ?? one + "s")}";

    private static Color SideColor(Round round, Side side) => round.Verdict switch
    {
        ArenaVerdict.A => side.Letter == "A" ? Color.Success : Color.Default,
        ArenaVerdict.B => side.Letter == "B" ? Color.Success : Color.Default,
        ArenaVerdict.BothBad => Color.Error,
        _ => Color.Default,
    };

    private static string VerdictText(Round round) => round.Verdict switch
    {
        ArenaVerdict.A => $"{round.A.Deployment.OllamaModel} (A) is better",
        ArenaVerdict.B => $"{round.B.Deployment.OllamaModel} (B) is better",
        ArenaVerdict.Tie => "a tie",
        _ => "both are bad",
    };

    public void Dispose() => _round?.Cancel.Cancel();

    private sealed class Side(string letter, ModelDeployment deployment)
    {
        public string Letter { get; } = letter;
        public ModelDeployment Deployment { get; } = deployment;
        public string Answer { get; set; } = "";
        public bool Done { get; set; }
        public bool Stopped { get; set; }
        public string? Error { get; set; }
    }

    private sealed class Round(string prompt, Side a, Side b)
    {
        public string Prompt { get; } = prompt;
        public Side A { get; } = a;
        public Side B { get; } = b;
        public IReadOnlyList<Side> Sides => [A, B];
        public CancellationTokenSource Cancel { get; } = new();
        public bool Streaming => Sides.Any(s => !s.Done);
        public ArenaVerdict? Verdict { get; set; }
        public bool Voted => Verdict is not null;

        /// <summary>Both answered in full: a stopped or failed answer is not a fair comparison.</summary>
        public bool CanVote => Sides.All(s => s is { Done: true, Stopped: false, Error: null });

        /// <summary>Names show once voted, or throughout when the user turned blind mode off.</summary>
        public bool Revealed(bool blind) => Voted || !blind;
    }
}

using DeepExtension.Core.Common;
using DeepExtension.Web.Components.Dialogs;
using System.Globalization;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class LiveModels
{
    private readonly TableColumns _columns = new("live-models",
        new TableColumn("source", "Source"),
        new TableColumn("quantization", "Quantization"),
        new TableColumn("environment", "Environment", ShownByDefault: false),
        new TableColumn("deployed", "Deployed"));

    /// <summary>Ollama is asked for tags/ps at most this often (the rows themselves reload every second).</summary>
    private static readonly TimeSpan LiveStateInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ChatRenderInterval = TimeSpan.FromMilliseconds(50);

    [Inject]
    public required DeploymentService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<ModelDeployment>? _deployments;
    private readonly LiveRows<ModelDeployment> _rows = new(m => m.Id);
    private IReadOnlyDictionary<Guid, LiveState> _states = new Dictionary<Guid, LiveState>();
    private DateTime _statesReadUtc = DateTime.MinValue;
    private HashSet<Guid> _statesFor = [];
    private ChatSession? _chat;
    private bool _arenaOpen;
    /// <summary>Open deployment logs by id, re-read with every reload while open.</summary>
    private readonly Dictionary<Guid, IReadOnlyList<LogLine>> _logs = [];

    protected override ChangedWork WatchedWork => ChangedWork.Deployments;

    /// <summary>A deployed model's state lives in Ollama, which sends no events: it is read at this pace.</summary>
    protected override TimeSpan PollInterval => LiveStateInterval;

    protected override async Task ReloadAsync()
    {
        _deployments = await Service.ListAsync(Stopping);
        _rows.Update(_deployments);
        foreach (var id in _logs.Keys.ToList()) _logs[id] = Service.ReadLog(id);
        var deployed = _deployments.Where(d => d.Status == WorkStatus.Succeeded).Select(d => d.Id).ToHashSet();
        // A deployment that just finished shows its live state at once, not at the next interval.
        if (DateTime.UtcNow - _statesReadUtc >= LiveStateInterval || !deployed.SetEquals(_statesFor)) await ReadLiveStatesAsync();
    }

    private async Task ReadLiveStatesAsync()
    {
        var deployments = _deployments ?? [];
        _states = await Service.GetLiveStatesAsync(deployments, Stopping);
        _statesFor = deployments.Where(d => d.Status == WorkStatus.Succeeded).Select(d => d.Id).ToHashSet();
        _statesReadUtc = DateTime.UtcNow;
    }

    private async Task RefreshLiveStatesAsync()
    {
        _deployments = await Service.ListAsync(Stopping);
        _rows.Update(_deployments);
        await ReadLiveStatesAsync();
    }

    private void ToggleLog(Guid id)
    {
        if (!_logs.Remove(id)) _logs[id] = Service.ReadLog(id);
    }

    private LiveState? StateOf(ModelDeployment deployment) => _states.GetValueOrDefault(deployment.Id);

    private bool CanChat(ModelDeployment deployment) =>
        deployment.Status == WorkStatus.Succeeded && StateOf(deployment)?.Availability is LiveAvailability.Available or LiveAvailability.Loaded;

    private async Task RemoveAsync(ModelDeployment deployment)
    {
        var confirmed = deployment.Status == WorkStatus.Succeeded
            ? await Dialogs.ConfirmAsync($"Remove {deployment.OllamaModel}?",
                [$"The model {deployment.OllamaModel} in Ollama at {OllamaEndpoint.Mask(deployment.BaseUrl)}", "Its entry and log on this page"],
                [$"The {(deployment.SourceKind == DeploymentSourceKind.Complete ? "complete" : "customized")} model {deployment.SourceModelName} it was made from"], confirmText: "Remove")
            : await Dialogs.ConfirmAsync($"Remove the failed deployment {deployment.OllamaModel}?",
                ["Its entry and log on this page (nothing was created in Ollama)"],
                [$"The {(deployment.SourceKind == DeploymentSourceKind.Complete ? "complete" : "customized")} model {deployment.SourceModelName}"], confirmText: "Remove");
        if (!confirmed) return;
        var result = await Service.RemoveAsync(deployment.Id);
        Snackbar.Add(result.Succeeded ? $"{deployment.OllamaModel} removed." : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Error);
        if (result.Succeeded && _chat?.Deployment.Id == deployment.Id) CloseChat();
        await RefreshLiveStatesAsync();
    }

    /// <summary>The models the arena can pit against each other: those that can chat now.</summary>
    private IReadOnlyList<ModelDeployment> ArenaModels => (_deployments ?? []).Where(CanChat).OrderBy(d => d.OllamaModel, StringComparer.Ordinal).ToList();

    private void OpenArena()
    {
        CloseChat();
        _arenaOpen = true;
    }

    private void CloseArena() => _arenaOpen = false;

    private async Task CancelAsync(ModelDeployment deployment)
    {
        if (!await Dialogs.ConfirmAsync($"Cancel deploying {deployment.OllamaModel}?",
                ["The upload or create in progress (a model Ollama had begun to create is removed)"],
                ["The files Ollama already received (its API cannot delete them; a later deployment skips them)",
                 $"The {(deployment.SourceKind == DeploymentSourceKind.Complete ? "complete" : "customized")} model {deployment.SourceModelName}"],
                confirmText: "Cancel deployment", keepText: "Keep deploying"))
        {
            return;
        }
        var result = await Service.CancelAsync(deployment.Id);
        Snackbar.Add(result.Succeeded ? $"Cancelling the deployment of {deployment.OllamaModel}." : result.AllErrors, result.Succeeded ? Severity.Info : Severity.Error);
    }

    private void OpenChat(ModelDeployment deployment)
    {
        if (_chat?.Deployment.Id == deployment.Id) return;
        CloseChat();
        _arenaOpen = false;
        _chat = new ChatSession(deployment);
    }

    private void CloseChat()
    {
        _chat?.Cancel();
        _chat = null;
    }

    private void ClearChat()
    {
        if (_chat is null) return;
        _chat.Turns.Clear();
        _chat.Error = null;
    }

    private void StopChat() => _chat?.Cancel();

    private async Task ChatKeyDownAsync(KeyboardEventArgs e)
    {
        if (e is { Key: "Enter", ShiftKey: false }) await SendAsync();
    }

    private async Task SendAsync()
    {
        if (_chat is not { Streaming: false } chat || string.IsNullOrWhiteSpace(chat.Draft)) return;
        chat.Turns.Add(new ChatLine("user", chat.Draft.Trim()));
        chat.Draft = "";
        chat.Error = null;
        var conversation = chat.Turns.Select(t => new ChatTurn(t.Role, t.Content)).ToList();
        var answer = new ChatLine("assistant", "");
        chat.Turns.Add(answer);
        var cancel = chat.Begin();
        var lastRender = DateTime.UtcNow;
        try
        {
            await foreach (var piece in Service.ChatAsync(chat.Deployment.Id, conversation, cancel.Token))
            {
                answer.Content += piece;
                if (DateTime.UtcNow - lastRender >= ChatRenderInterval)
                {
                    lastRender = DateTime.UtcNow;
                    StateHasChanged();
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            answer.Content += " [stopped]";
        }
        catch (OllamaDeployException ex)
        {
            chat.Error = ex.Message;
            if (answer.Content.Length == 0) chat.Turns.Remove(answer);
        }
        finally
        {
            chat.End();
        }
    }

    internal static string AvailabilityLabel(LiveAvailability? availability) => availability switch
    {
        LiveAvailability.Available => "Available",
        LiveAvailability.Loaded => "Loaded",
        LiveAvailability.Missing => "Missing in Ollama",
        LiveAvailability.Unreachable => "Ollama unreachable",
        _ => "Checking…",
    };

    internal static Color AvailabilityColor(LiveAvailability? availability) => availability switch
    {
        LiveAvailability.Available => Color.Success,
        LiveAvailability.Loaded => Color.Primary,
        LiveAvailability.Missing or LiveAvailability.Unreachable => Color.Warning,
        _ => Color.Default,
    };


    private sealed class ChatLine(string role, string content)
    {
        public string Role { get; } = role;
        public string Content { get; set; } = content;
    }

    private sealed class ChatSession(ModelDeployment deployment)
    {
        private CancellationTokenSource? _cancel;

        public ModelDeployment Deployment { get; } = deployment;
        public List<ChatLine> Turns { get; } = [];
        public string Draft { get; set; } = "";
        public string? Error { get; set; }
        public bool Streaming => _cancel is not null;

        public CancellationTokenSource Begin() => _cancel = new CancellationTokenSource();

        public void End()
        {
            _cancel?.Dispose();
            _cancel = null;
        }

        public void Cancel() => _cancel?.Cancel();
    }
}

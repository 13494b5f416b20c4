using DeepExtension.Core.Common;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Core.HuggingFace;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Dialogs;

/// <summary>Repository, revision and token → the plan (files, sizes, architecture) → confirm: the download is queued.</summary>
public partial class HubDownloadDialog
{
    [CascadingParameter]
    public required IMudDialogInstance Dialog { get; set; }

    [Inject]
    public required HubDownloadService Service { get; init; }

    [Inject]
    public required HubClient Hub { get; init; }

    private string? _repository;
    private string? _revision;
    private string? _token;
    private string? _targetPath;
    private string? _technicalName;
    private HubDownloadPlan? _plan;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private bool _busy;

    private HubDownloadRequest Request => new(_repository ?? "", _revision, _token, _targetPath, _technicalName);

    private bool Has(string field) => _errors.ContainsKey(field);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var messages) ? string.Join(" ", messages) : null;

    /// <summary>Any change makes the plan stale: it is checked again before a download.</summary>
    private void InputChanged() => _plan = null;

    private async Task CheckAsync()
    {
        _busy = true;
        _errors = new Dictionary<string, string[]>();
        try
        {
            var planned = await Service.PlanAsync(Request);
            _plan = planned.Value;
            _errors = planned.Errors;
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task DownloadAsync()
    {
        _busy = true;
        try
        {
            var started = await Service.StartAsync(Request);
            if (started.Succeeded)
            {
                Dialog.Close(DialogResult.Ok(started.Value!));
                return;
            }
            _plan = null;
            _errors = started.Errors;
        }
        finally
        {
            _busy = false;
        }
    }

    private void Cancel() => Dialog.Cancel();
}

using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.Datasets;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.JSInterop;

namespace DeepExtension.Web.Components.Controls;

public partial class DatasetUploadForm : IAsyncDisposable
{
    /// <summary>The largest file the page accepts (each of the data file and the validation file).</summary>
    public const long MaxUploadBytes = 4L * 1024 * 1024 * 1024;

    public enum SplitMode
    {
        None,
        Percent,
        File,
    }

    [Inject]
    public required DatasetService Service { get; init; }

    [Inject]
    public required ILogger<DatasetUploadForm> Logger { get; init; }

    /// <summary>Existing datasets, offered as targets for a new version.</summary>
    [Parameter]
    public IReadOnlyList<Dataset> Datasets { get; set; } = [];

    /// <summary>Preselects an existing dataset (the "Add version" action); null starts with a new dataset.</summary>
    [Parameter]
    public Guid? TargetDatasetId { get; set; }

    [Parameter]
    public EventCallback<DatasetUploadResult> OnSaved { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    private sealed class ReceivedFile(string tempPath, DatasetInspection inspection)
    {
        public string TempPath { get; } = tempPath;
        public DatasetInspection Inspection { get; set; } = inspection;
    }

    /// <summary>The form shows the received file's summary itself; MudFileUpload's own chip would only repeat it.</summary>
    private static readonly RenderFragment<IBrowserFile?> NoSelectionChip = _ => _ => { };

    private Guid _targetId;
    private string? _name;
    private string? _description;
    private ReceivedFile? _main;
    private ReceivedFile? _validation;
    private DatasetFormat? _format;
    private SplitMode _split;
    private int _percent = 10;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private bool _busy;
    private string? _busyText;
    private bool _saving;

    // The previous version's validation file name, when it had one: the form asks for a file again instead of dropping the split.
    private string? _previousValidationFile;

    protected override void OnInitialized() => TargetChanged(TargetDatasetId ?? Guid.Empty);

    /// <summary>An existing dataset with the typed name (names are unique ignoring case).</summary>
    private Dataset? Duplicate => _targetId == Guid.Empty && !string.IsNullOrWhiteSpace(_name)
        ? Datasets.FirstOrDefault(d => d.NameKey == Dataset.KeyOf(_name.Trim()))
        : null;

    private string? NameError => ErrorText(DatasetService.NameField)
        ?? (Duplicate is { } existing ? $"The name \"{existing.Name}\" is already used by another dataset." : null);

    /// <summary>"40 rows", or "11 valid rows · 1 line failed".</summary>
    internal static string RowsText(DatasetInspection inspection) => inspection.FailedRows == 0
        ? Plural(inspection.RowCount, "row")
        : $"{Plural(inspection.ValidRows, "valid row")} · {Plural(inspection.FailedRows, "line")} failed";

    private static string Plural(long count, string noun) => $"{DisplayFormat.Count(count)} {noun}{(count == 1 ? "" : "s")}";

    /// <summary>The rows a percentage split really puts in validation, once a valid file is in.</summary>
    private (long Rows, long Validation)? SplitCount() =>
        _split == SplitMode.Percent && _main is { Inspection.IsValid: true } main && _percent is >= 1 and <= DatasetService.MaxValidationPercent
            ? (main.Inspection.ValidRows, DatasetSplit.CountValidation(main.Inspection.ValidRows, _percent, main.Inspection.Sha256))
            : null;

    /// <summary>Why saving cannot work as the form stands (the button is disabled and says this beside it); null when it can.</summary>
    private string? BlockingReason
    {
        get
        {
            if (Duplicate is { } existing) return $"\"{existing.Name}\" exists: pick another name, or add a new version of it.";
            if (_main is { Inspection.IsValid: false } main)
            {
                return main.Inspection.FailedRows > 0
                    ? $"{DisplayFormat.Count(main.Inspection.FailedRows)} line{(main.Inspection.FailedRows == 1 ? "" : "s")} of {main.Inspection.FileName} failed the checks (listed above): fix the file and choose it again."
                    : $"{main.Inspection.FileName} cannot be stored (see above): choose another file.";
            }
            if (SplitCount() is { } count && count.Validation < DatasetService.MinValidationRows)
            {
                return $"{_percent} % of {DisplayFormat.Count(count.Rows)} rows puts {DisplayFormat.Count(count.Validation)} row{(count.Validation == 1 ? "" : "s")} in validation; "
                    + $"at least {DatasetService.MinValidationRows} are needed: raise the share, choose a validation file or no split.";
            }
            if (_split == SplitMode.File && _validation is { } validation)
            {
                if (!validation.Inspection.IsValid) return $"The validation file {validation.Inspection.FileName} failed the checks (listed above).";
                if (validation.Inspection.ValidRows < DatasetService.MinValidationRows)
                {
                    return $"The validation file holds {DisplayFormat.Count(validation.Inspection.ValidRows)} row{(validation.Inspection.ValidRows == 1 ? "" : "s")}; at least {DatasetService.MinValidationRows} are needed.";
                }
            }
            return null;
        }
    }

    /// <summary>The last save's errors in one line, shown beside the button (the fields show each beside its cause too).</summary>
    private string? SaveErrorsSummary => _errors.Count == 0 ? null
        : _errors.Count == 1 && _errors.ContainsKey(OperationResult<DatasetUploadResult>.General) ? null
        : "Not stored: " + string.Join(" ", _errors.Where(e => e.Key != OperationResult<DatasetUploadResult>.General)
            .Select(e => e.Value.Length == 1 ? e.Value[0] : $"{e.Value[0]} (and {e.Value.Length - 1} more)"));

    private IEnumerable<string> GeneralErrors => _errors.TryGetValue(OperationResult<DatasetUploadResult>.General, out var m) ? m : [];

    private bool HasError(string field) => _errors.ContainsKey(field);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var m) ? string.Join(" ", m) : null;

    private IReadOnlyList<string> FileErrors =>
        _errors.TryGetValue(DatasetService.FileField, out var m) ? m
        : _main is { Inspection.IsValid: false } ? _main.Inspection.ErrorMessages
        : [];

    private IReadOnlyList<string> ValidationErrors =>
        _errors.TryGetValue(DatasetService.ValidationField, out var m) ? m
        : _split == SplitMode.File && _validation is { Inspection.IsValid: false }
            ? _validation.Inspection.ErrorMessages.Select(e => $"{_validation.Inspection.FileName}: {e}").ToList()
            : [];

    private string TargetName(Guid id) =>
        id == Guid.Empty ? "A new dataset" : Datasets.FirstOrDefault(d => d.Id == id)?.Name ?? "";


    private static string Percent(long done, long total) => total <= 0 ? "0 %" : $"{Math.Min(100, done * 100 / total)} %";

    private static string ShortHash(string sha) => sha.Length > 12 ? sha[..12] : sha;

    private void TargetChanged(Guid id)
    {
        _targetId = id;
        ClearErrors(DatasetService.NameField, OperationResult<DatasetUploadResult>.General);
        // A new version starts from the previous version's split settings.
        _previousValidationFile = null;
        if (Datasets.FirstOrDefault(d => d.Id == id)?.LatestVersion is { } previous)
        {
            if (previous.HasValidationFile)
            {
                SplitChanged(SplitMode.File);
                _previousValidationFile = previous.ValidationOriginalFileName;
            }
            else if (previous.ValidationPercent > 0)
            {
                SplitChanged(SplitMode.Percent);
                _percent = previous.ValidationPercent;
            }
            else
            {
                SplitChanged(SplitMode.None);
            }
        }
    }

    private void NameChanged(string? name)
    {
        _name = name;
        ClearErrors(DatasetService.NameField);
    }

    private Task MainFileChangedAsync(IBrowserFile? file) =>
        GuardedAsync(DatasetService.FileField, $"{file?.Name} could not be received", () => ReceiveMainAsync(file));

    private Task ValidationFileChangedAsync(IBrowserFile? file) =>
        GuardedAsync(DatasetService.ValidationField, $"{file?.Name} could not be received", () => ReceiveValidationAsync(file));

    private Task FormatChangedAsync(DatasetFormat? format) =>
        GuardedAsync(DatasetService.FileField, "The files could not be checked again", () => ReinspectAsync(format));

    private Task SaveAsync() =>
        GuardedAsync(OperationResult<DatasetUploadResult>.General, "The dataset could not be stored", StoreAsync);

    /// <summary>
    /// Runs a handler so that whatever fails in it (the database refusing writes, a disk error, the browser going away)
    /// shows as an error under <paramref name="field"/>: an exception leaving a handler would end the user's circuit.
    /// </summary>
    private async Task GuardedAsync(string field, string failure, Func<Task> handler)
    {
        try
        {
            await handler();
        }
        catch (Exception ex)
        {
            _busy = false;
            _busyText = null;
            _saving = false;
            Logger.LogWarning(ex, "Dataset upload form: {Failure}", failure);
            SetError(field, ex is DbUpdateException or System.Data.Common.DbException ? DatabaseErrors.Refused(ex) : $"{failure}: {ex.Message}");
        }
    }

    private async Task ReceiveMainAsync(IBrowserFile? file)
    {
        if (file is null) return;
        ClearErrors(DatasetService.FileField, DatasetService.ValidationField, OperationResult<DatasetUploadResult>.General);
        Discard(ref _main);
        _format = null;
        var path = await ReceiveAsync(file, DatasetService.FileField);
        if (path is null) return;
        _main = new ReceivedFile(path, await InspectAsync(path, file.Name, null));
        _format = _main.Inspection.Format;
        if (_validation is not null && _format is not null)
        {
            _validation.Inspection = await InspectAsync(_validation.TempPath, _validation.Inspection.FileName, _format);
        }
    }

    private async Task ReceiveValidationAsync(IBrowserFile? file)
    {
        if (file is null) return;
        ClearErrors(DatasetService.ValidationField, OperationResult<DatasetUploadResult>.General);
        Discard(ref _validation);
        var path = await ReceiveAsync(file, DatasetService.ValidationField);
        if (path is null) return;
        _validation = new ReceivedFile(path, await InspectAsync(path, file.Name, _format));
    }

    private async Task ReinspectAsync(DatasetFormat? format)
    {
        _format = format;
        ClearErrors(DatasetService.FileField, DatasetService.ValidationField);
        if (_main is not null) _main.Inspection = await InspectAsync(_main.TempPath, _main.Inspection.FileName, format);
        if (_validation is not null) _validation.Inspection = await InspectAsync(_validation.TempPath, _validation.Inspection.FileName, format);
    }

    private void SplitChanged(SplitMode mode)
    {
        _split = mode;
        ClearErrors(DatasetService.ValidationField);
        if (mode != SplitMode.File) Discard(ref _validation);
    }

    /// <summary>Copies the browser upload to a temp file next to the datasets; null (with a message) when it cannot.</summary>
    private async Task<string?> ReceiveAsync(IBrowserFile file, string field)
    {
        if (file.Size > MaxUploadBytes)
        {
            SetError(field, $"{file.Name} is {ByteSize.Format(file.Size)}; a dataset file may be at most {ByteSize.Format(MaxUploadBytes)}.");
            return null;
        }
        if (DatasetValidator.FileTypeOf(file.Name) is null)
        {
            SetError(field, $"{file.Name}: use a .jsonl, .json or .csv file.");
            return null;
        }

        string? path = null;
        _busy = true;
        _busyText = $"Receiving {file.Name} ({ByteSize.Format(file.Size)})…";
        StateHasChanged();
        try
        {
            path = Service.NewIncomingFilePath(file.Name);
            await using var source = file.OpenReadStream(MaxUploadBytes);
            await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            var buffer = new byte[81920];
            long received = 0;
            var shown = Environment.TickCount64;
            int read;
            while ((read = await source.ReadAsync(buffer)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read));
                received += read;
                if (Environment.TickCount64 - shown > 500)
                {
                    shown = Environment.TickCount64;
                    _busyText = $"Receiving {file.Name}: {Percent(received, file.Size)} of {ByteSize.Format(file.Size)}…";
                    StateHasChanged();
                }
            }
            return path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or JSException or OperationCanceledException)
        {
            if (path is not null) TryDelete(path);
            SetError(field, $"The upload of {file.Name} failed: {ex.Message}");
            return null;
        }
        finally
        {
            _busy = false;
            _busyText = null;
        }
    }

    private async Task<DatasetInspection> InspectAsync(string path, string fileName, DatasetFormat? format)
    {
        _busy = true;
        _busyText = $"Checking {fileName}…";
        StateHasChanged();
        var size = new FileInfo(path).Length;
        var progress = new Progress<long>(bytes =>
        {
            if (!_busy) return;
            _busyText = $"Checking {fileName}: {Percent(bytes, size)}…";
            StateHasChanged();
        });
        try
        {
            return await Service.InspectFileAsync(path, fileName, format, progress: progress);
        }
        finally
        {
            _busy = false;
            _busyText = null;
        }
    }

    private async Task StoreAsync()
    {
        var errors = new ValidationErrors();
        if (_targetId == Guid.Empty && DatasetService.ValidateName(_name) is { } nameError) errors.Add(DatasetService.NameField, nameError);
        if (_main is null) errors.Add(DatasetService.FileField, "Choose a .jsonl, .json or .csv file to upload.");
        if (_split == SplitMode.File && _validation is null) errors.Add(DatasetService.ValidationField, "Choose the validation file, or pick another split.");
        if (_split == SplitMode.Percent && _percent is < 1 or > DatasetService.MaxValidationPercent)
        {
            errors.Add(DatasetService.ValidationField, $"The validation share must be between 1 and {DatasetService.MaxValidationPercent} %.");
        }
        if (errors.Any)
        {
            _errors = errors.ToDictionary();
            return;
        }

        _saving = true;
        try
        {
            await using var main = File.OpenRead(_main!.TempPath);
            await using var validation = _split == SplitMode.File ? File.OpenRead(_validation!.TempPath) : null;
            var upload = new DatasetUpload(main, _main.Inspection.FileName, _format,
                _split == SplitMode.Percent ? _percent : 0,
                validation, _split == SplitMode.File ? _validation!.Inspection.FileName : null);
            var result = _targetId == Guid.Empty
                ? await Service.CreateAsync(_name!, _description, upload)
                : await Service.AddVersionAsync(_targetId, upload);
            _errors = result.Errors;
            if (result.Succeeded)
            {
                await main.DisposeAsync();
                if (validation is not null) await validation.DisposeAsync();
                DiscardAll();
                await OnSaved.InvokeAsync(result.Value);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SetError(OperationResult<DatasetUploadResult>.General, $"The dataset could not be stored: {ex.Message}");
        }
        finally
        {
            _saving = false;
        }
    }

    private void SetError(string field, string message) =>
        _errors = new Dictionary<string, string[]>(_errors) { [field] = [message] };

    private void ClearErrors(params string[] fields) =>
        _errors = _errors.Where(e => !fields.Contains(e.Key)).ToDictionary();

    private static void Discard(ref ReceivedFile? file)
    {
        if (file is not null) TryDelete(file.TempPath);
        file = null;
    }

    private void DiscardAll()
    {
        Discard(ref _main);
        Discard(ref _validation);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        DiscardAll();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

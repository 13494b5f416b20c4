using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;

namespace DeepExtension.Web.Components.Controls;

public partial class BaseModelForm
{
    [Inject]
    public required BaseModelService Service { get; init; }

    /// <summary>The model being edited; null when adding.</summary>
    [Parameter]
    public BaseModel? Existing { get; set; }

    [Parameter]
    public EventCallback<BaseModel> OnSaved { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    private string? _technicalName;
    private string? _modelName;
    private string? _path;
    private string? _template;
    private ModelCard? _preview;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private bool _saving;

    protected override void OnInitialized()
    {
        _technicalName = Existing?.TechnicalName;
        _modelName = Existing?.ModelName;
        _path = Existing?.RelativePath;
        _template = Existing?.DeploymentTemplate;
    }

    private IEnumerable<string> GeneralErrors => _errors.TryGetValue(OperationResult<BaseModel>.General, out var m) ? m : [];

    private bool HasError(string field) => _errors.ContainsKey(field);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var m) ? string.Join(" ", m) : null;

    private void CheckFolder()
    {
        var result = Service.Inspect(_path);
        _preview = result.Value;
        var errors = _errors.Where(e => e.Key != BaseModelService.PathField).ToDictionary();
        foreach (var (field, messages) in result.Errors) errors[field] = messages;
        _errors = errors;
    }

    private async Task LoadTemplateFileAsync(IBrowserFile? file)
    {
        if (file is null) return;
        if (file.Size > DeploymentTemplate.MaxLength)
        {
            _errors = new Dictionary<string, string[]>(_errors)
            {
                [BaseModelService.TemplateField] = [$"{file.Name} is {file.Size / 1024} KB; a template file may be at most {DeploymentTemplate.MaxLength / 1024} KB."],
            };
            return;
        }
        using var reader = new StreamReader(file.OpenReadStream(DeploymentTemplate.MaxLength));
        _template = await reader.ReadToEndAsync();
    }

    private async Task SaveAsync()
    {
        _saving = true;
        try
        {
            var input = new BaseModelInput(_technicalName ?? "", _modelName ?? "", _path ?? "", _template);
            var result = Existing is null
                ? await Service.CreateAsync(input)
                : await Service.UpdateAsync(Existing.Id, input);
            _errors = result.Errors;
            if (result.Succeeded)
            {
                await OnSaved.InvokeAsync(result.Value);
            }
        }
        finally
        {
            _saving = false;
        }
    }
}

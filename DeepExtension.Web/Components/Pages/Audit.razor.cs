using DeepExtension.Core.Audit;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Pages;

public partial class Audit
{
    public const int PageSize = 50;

    private readonly TableColumns _columns = new("audit",
        new TableColumn("id", "Id", ShownByDefault: false),
        new TableColumn("detail", "Detail"));

    [Inject]
    public required AuditTrail Trail { get; init; }

    private IReadOnlyList<string> _actors = [];
    private AuditPage? _page;
    private string? _actor;
    private string? _action;
    private string? _objectKind;
    private string? _objectText;

    private int PageCount => _page is null ? 1 : Math.Max(1, (_page.Total + _page.PageSize - 1) / _page.PageSize);

    private string RangeText => _page is null ? "" :
        $"{_page.Page * _page.PageSize + 1:N0}–{_page.Page * _page.PageSize + _page.Entries.Count:N0} of {_page.Total:N0}";

    protected override async Task OnInitializedAsync()
    {
        _actors = await Trail.ActorsAsync();
        await GoToAsync(0);
    }

    private async Task FilterAsync(Action set)
    {
        set();
        await GoToAsync(0);
    }

    private async Task GoToAsync(int page) =>
        _page = await Trail.QueryAsync(new AuditQuery(_actor, _action, _objectKind, _objectText, page, PageSize));
}

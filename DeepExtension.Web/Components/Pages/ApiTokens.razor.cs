using DeepExtension.Web.Accounts;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class ApiTokens
{
    [Inject] public required ApiTokenService Tokens { get; init; }
    [Inject] public required BrowserInterop Browser { get; init; }
    [Inject] public required ISnackbar Snackbar { get; init; }
    [Inject] public required TimeProvider Clock { get; init; }

    private IReadOnlyList<ApiTokenRow>? _tokens;
    private string _name = "";
    private int _days = ApiTokenService.DefaultLifetimeDays;
    private string? _nameError;
    private CreatedApiToken? _created;

    protected override async Task OnInitializedAsync() => _tokens = await Tokens.ListMineAsync();

    private async Task CreateAsync()
    {
        var result = await Tokens.CreateAsync(_name, _days);
        _nameError = result.Succeeded ? null : result.AllErrors;
        if (!result.Succeeded) return;
        _created = result.Value;
        _name = "";
        _tokens = await Tokens.ListMineAsync();
    }

    private async Task CopyAsync()
    {
        var copied = _created is not null && await Browser.CopyAsync(_created.Token);
        Snackbar.Add(copied ? "Token copied." : "The browser did not allow copying; select the token instead.", copied ? Severity.Normal : Severity.Warning);
    }

    private async Task RevokeAsync(ApiTokenRow token)
    {
        var result = await Tokens.RevokeAsync(token.Id);
        Snackbar.Add(result.Succeeded ? $"{token.Name} is revoked: requests with it are refused." : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Error);
        _tokens = await Tokens.ListMineAsync();
    }

    private string StateOf(ApiTokenRow token) =>
        token.RevokedAtUtc is not null ? "Revoked" : token.ExpiresAtUtc <= Clock.GetUtcNow().UtcDateTime ? "Expired" : "Active";
}

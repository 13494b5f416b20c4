using DeepExtension.Core.Accounts;
using DeepExtension.Core.Common;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class Users
{
    [Inject] private UserAdministration Administration { get; set; } = null!;
    [Inject] private ISnackbar Snackbar { get; set; } = null!;
    [Inject] private IDialogService Dialogs { get; set; } = null!;

    private IReadOnlyList<UserRow>? _users;
    private string _email = "";
    private string _password = "";
    private string _role = Roles.Member;
    private string? _addError;

    protected override async Task OnInitializedAsync() => _users = await Administration.ListAsync();

    private async Task AddAsync()
    {
        var result = await Administration.CreateAsync(_email, _password, _role);
        if (!result.Succeeded)
        {
            _addError = result.AllErrors;
            return;
        }
        _addError = null;
        Snackbar.Add($"{result.Value!.Email} can sign in as {result.Value.Role}.", Severity.Success);
        (_email, _password) = ("", "");
        _users = await Administration.ListAsync();
    }

    private async Task SetRoleAsync(UserRow user, string role) =>
        await ReportAsync(await Administration.SetRoleAsync(user.Id, role), $"{user.Email} is now {role}.");

    private async Task UnlockAsync(UserRow user) =>
        await ReportAsync(await Administration.UnlockAsync(user.Id), $"{user.Email} can sign in again.");

    private async Task DeleteAsync(UserRow user)
    {
        var confirmed = await Dialogs.ShowMessageBoxAsync("Remove user", $"Remove {user.Email}? What they created stays.", yesText: "Remove", cancelText: "Cancel");
        if (confirmed != true) return;
        await ReportAsync(await Administration.DeleteAsync(user.Id), $"{user.Email} was removed.");
    }

    private async Task ReportAsync(OperationResult<bool> result, string success)
    {
        Snackbar.Add(result.Succeeded ? success : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Error);
        _users = await Administration.ListAsync();
    }
}

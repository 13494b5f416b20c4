using System.ComponentModel.DataAnnotations;
using DeepExtension.Core.Accounts;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;

namespace DeepExtension.Web.Components.Account;

public partial class SignIn
{
    [Inject] private SignInManager<ApplicationUser> SignInManager { get; set; } = null!;
    [Inject] private CredentialCheck Credentials { get; set; } = null!;
    [Inject] private FirstAdminSetup Setup { get; set; } = null!;
    [Inject] private NavigationManager Navigation { get; set; } = null!;

    [SupplyParameterFromForm] private SignInInput Input { get; set; } = null!;
    [SupplyParameterFromQuery] private string? ReturnUrl { get; set; }

    private string? _error;

    // Empty on the first GET; a form post fills it.
    protected override void OnInitialized() => Input ??= new();

    private async Task SignInAsync()
    {
        var result = await Credentials.CheckAsync(Input.Email, Input.Password);
        if (result.User is { } user)
        {
            await SignInManager.SignInAsync(user, isPersistent: false);
            Navigation.NavigateTo(AccountsHostingExtensions.LocalReturnUrl(ReturnUrl), forceLoad: true);
            return;
        }
        // The same messages for unknown and known emails: the form does not tell which accounts exist.
        _error = result.Outcome == CredentialOutcome.LockedOut ? CredentialResult.LockedOutMessage : CredentialResult.WrongMessage;
    }

    private sealed class SignInInput
    {
        [Required, EmailAddress] public string Email { get; set; } = "";
        [Required] public string Password { get; set; } = "";
    }
}

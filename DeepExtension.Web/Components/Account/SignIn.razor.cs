using System.ComponentModel.DataAnnotations;
using DeepExtension.Core.Accounts;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;

namespace DeepExtension.Web.Components.Account;

public partial class SignIn
{
    [Inject] private SignInManager<ApplicationUser> SignInManager { get; set; } = null!;
    [Inject] private FirstAdminSetup Setup { get; set; } = null!;
    [Inject] private NavigationManager Navigation { get; set; } = null!;

    [SupplyParameterFromForm] private SignInInput Input { get; set; } = null!;
    [SupplyParameterFromQuery] private string? ReturnUrl { get; set; }

    private string? _error;

    // Empty on the first GET; a form post fills it.
    protected override void OnInitialized() => Input ??= new();

    private async Task SignInAsync()
    {
        var result = await SignInManager.PasswordSignInAsync(Input.Email.Trim(), Input.Password, isPersistent: false, lockoutOnFailure: true);
        if (result.Succeeded)
        {
            Navigation.NavigateTo(AccountsHostingExtensions.LocalReturnUrl(ReturnUrl), forceLoad: true);
            return;
        }
        // One message for an unknown email and a wrong password: the form does not tell which accounts exist.
        _error = result.IsLockedOut
            ? "Too many failed attempts: this account is locked for 15 minutes."
            : result.IsNotAllowed ? "This account may not sign in." : "Wrong email or password.";
    }

    private sealed class SignInInput
    {
        [Required, EmailAddress] public string Email { get; set; } = "";
        [Required] public string Password { get; set; } = "";
    }
}

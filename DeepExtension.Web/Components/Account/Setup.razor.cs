using System.ComponentModel.DataAnnotations;
using DeepExtension.Core.Accounts;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;

namespace DeepExtension.Web.Components.Account;

public partial class Setup
{
    [Inject] private FirstAdminSetup SetupService { get; set; } = null!;
    [Inject] private UserManager<ApplicationUser> Users { get; set; } = null!;
    [Inject] private SignInManager<ApplicationUser> SignInManager { get; set; } = null!;
    [Inject] private NavigationManager Navigation { get; set; } = null!;

    [SupplyParameterFromQuery] private string? Token { get; set; }
    [SupplyParameterFromForm] private SetupInput Input { get; set; } = null!;

    private List<string> _errors = [];

    // Empty on the first GET; a form post fills it.
    protected override void OnInitialized() => Input ??= new();

    private async Task CreateAsync()
    {
        var result = await SetupService.CompleteAsync(Token, Input.Email, Input.Password, Users);
        if (!result.Succeeded)
        {
            _errors = result.Errors.Select(e => e.Description).ToList();
            return;
        }
        var user = await Users.FindByEmailAsync(Input.Email.Trim());
        await SignInManager.SignInAsync(user!, isPersistent: false);
        Navigation.NavigateTo("/", forceLoad: true);
    }

    private sealed class SetupInput
    {
        [Required, EmailAddress] public string Email { get; set; } = "";
        [Required, MinLength(8)] public string Password { get; set; } = "";
        [Required, Compare(nameof(Password), ErrorMessage = "The passwords differ.")] public string Confirm { get; set; } = "";
    }
}

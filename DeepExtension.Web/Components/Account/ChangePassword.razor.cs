using System.ComponentModel.DataAnnotations;
using DeepExtension.Core.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;

namespace DeepExtension.Web.Components.Account;

public partial class ChangePassword
{
    [Inject] private UserManager<ApplicationUser> Users { get; set; } = null!;
    [Inject] private SignInManager<ApplicationUser> SignInManager { get; set; } = null!;

    [CascadingParameter] private HttpContext HttpContext { get; set; } = null!;
    [SupplyParameterFromForm] private PasswordInput Input { get; set; } = null!;

    private List<string> _errors = [];
    private bool _changed;
    private string? _email;

    protected override void OnInitialized()
    {
        Input ??= new();
        _email = HttpContext.User.Identity?.Name;
    }

    private async Task ChangeAsync()
    {
        if (await Users.GetUserAsync(HttpContext.User) is not { } user)
        {
            _errors = ["Your account no longer exists."];
            return;
        }
        var result = await Users.ChangePasswordAsync(user, Input.Current, Input.Password);
        if (!result.Succeeded)
        {
            _errors = result.Errors.Select(e => e.Description).ToList();
            return;
        }
        // The security stamp changed: renew this browser's cookie, other sessions end at their next check.
        await SignInManager.RefreshSignInAsync(user);
        _changed = true;
    }

    private sealed class PasswordInput
    {
        [Required] public string Current { get; set; } = "";
        [Required, MinLength(8)] public string Password { get; set; } = "";
        [Required, Compare(nameof(Password), ErrorMessage = "The passwords differ.")] public string Confirm { get; set; } = "";
    }
}

using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace DeepExtension.Web.Components.Account;

/// <summary>
/// Sends an open page to the sign-in form once its circuit's session ends (a role or password change, a lockout, a
/// deletion): the user signs in again and gets the rights they have now.
/// </summary>
public partial class SessionEndedRedirect
{
    [Inject] private NavigationManager Navigation { get; set; } = null!;
    [CascadingParameter] private Task<AuthenticationState>? AuthenticationState { get; set; }

    protected override async Task OnParametersSetAsync()
    {
        if (AuthenticationState is null || !RendererInfo.IsInteractive) return;
        if ((await AuthenticationState).User.Identity?.IsAuthenticated == true) return;
        var returnUrl = "/" + Navigation.ToBaseRelativePath(Navigation.Uri);
        Navigation.NavigateTo($"{AccountsHostingExtensions.SignInPath}?ReturnUrl={Uri.EscapeDataString(returnUrl)}", forceLoad: true);
    }
}

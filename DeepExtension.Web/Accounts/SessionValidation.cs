using System.Security.Claims;
using DeepExtension.Core.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace DeepExtension.Web.Accounts;

/// <summary>
/// The one rule for "is this browser session still good", used for every HTTP request with the cookie and for every
/// event of a Blazor circuit: the user still exists, is not locked out, and the security stamp the session was issued
/// with is still current (a role change and a password change renew it).
/// </summary>
public static class SessionValidation
{
    public static async Task<bool> IsCurrentAsync(UserManager<ApplicationUser> users, IdentityOptions options, ClaimsPrincipal principal)
    {
        if (principal.Identity?.IsAuthenticated != true) return false;
        if (await users.GetUserAsync(principal) is not { } user) return false;
        if (await users.IsLockedOutAsync(user)) return false;
        if (!users.SupportsUserSecurityStamp) return true;
        return principal.FindFirstValue(options.ClaimsIdentity.SecurityStampClaimType) == await users.GetSecurityStampAsync(user);
    }

    /// <summary>
    /// The cookie's OnValidatePrincipal. It replaces Identity's interval-based SecurityStampValidator: a stale cookie is
    /// rejected (and deleted) at its very next request.
    /// </summary>
    public static async Task ValidateCookieAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal is null) return;
        var services = context.HttpContext.RequestServices;
        var users = services.GetRequiredService<UserManager<ApplicationUser>>();
        var options = services.GetRequiredService<IOptions<IdentityOptions>>().Value;
        if (await IsCurrentAsync(users, options, context.Principal)) return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(IdentityConstants.ApplicationScheme);
    }
}

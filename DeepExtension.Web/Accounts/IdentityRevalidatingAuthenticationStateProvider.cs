using System.Security.Claims;
using DeepExtension.Core.Accounts;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace DeepExtension.Web.Accounts;

/// <summary>
/// A live circuit's user, checked by <see cref="SessionValidation"/> before each of its events (see
/// <see cref="CircuitUserHandler"/>) and every <see cref="SessionOptions.RevalidationInterval"/> while the page is idle:
/// a deleted, locked-out or demoted user, or one whose password changed, is signed out of the circuit, whose page then
/// goes to the sign-in form.
/// </summary>
internal sealed class IdentityRevalidatingAuthenticationStateProvider(
    ILoggerFactory loggerFactory,
    IServiceScopeFactory scopeFactory,
    IOptions<IdentityOptions> options,
    IOptions<SessionOptions> sessionOptions)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    private static readonly AuthenticationState SignedOut = new(new ClaimsPrincipal(new ClaimsIdentity()));

    protected override TimeSpan RevalidationInterval => sessionOptions.Value.RevalidationInterval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        await using var scope = scopeFactory.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        return await SessionValidation.IsCurrentAsync(users, options.Value, authenticationState.User);
    }

    /// <summary>The circuit's current user, after checking it now; a session that ended is signed out here and then.</summary>
    public async Task<ClaimsPrincipal> CheckedUserAsync()
    {
        var state = await GetAuthenticationStateAsync();
        if (state.User.Identity?.IsAuthenticated != true) return state.User;
        if (await ValidateAuthenticationStateAsync(state, CancellationToken.None)) return state.User;
        SetAuthenticationState(Task.FromResult(SignedOut));
        return SignedOut.User;
    }
}

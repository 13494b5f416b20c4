using System.Security.Claims;
using DeepExtension.Core.Accounts;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;

namespace DeepExtension.Web.Accounts;

/// <summary>
/// The <see cref="ICurrentUser"/> the domain services (singletons) consult: the user of the Blazor circuit whose event
/// is being handled (set by <see cref="CircuitUserHandler"/>), else the user of the HTTP request. Work that neither
/// started (Quartz jobs, start-up) has neither and acts as the system.
/// </summary>
internal sealed class SignedInUser(IHttpContextAccessor http) : ICurrentUser
{
    private static readonly AsyncLocal<ClaimsPrincipal?> CircuitPrincipal = new();

    internal static ClaimsPrincipal? Circuit
    {
        get => CircuitPrincipal.Value;
        set => CircuitPrincipal.Value = value;
    }

    private ClaimsPrincipal? Principal => CircuitPrincipal.Value ?? http.HttpContext?.User;

    // Every endpoint and the hub require a signed-in user, so an unauthenticated request here is background work; a
    // circuit whose session ended is a user who may do nothing, never the system.
    public bool IsSystem => CircuitPrincipal.Value is null && http.HttpContext?.User.Identity?.IsAuthenticated != true;

    private bool IsSignedIn => Principal?.Identity?.IsAuthenticated == true;

    public string? Name => IsSignedIn ? Principal!.Identity!.Name : null;

    public bool IsInRole(string role) => IsSystem || (IsSignedIn && Principal!.IsInRole(role));
}

/// <summary>
/// Makes the circuit's user ambient while each of its events (clicks, form submits, JS calls) runs, after checking that
/// their session is still current: an event of a session that ended runs as a signed-out user, whom every action refuses.
/// </summary>
internal sealed class CircuitUserHandler(AuthenticationStateProvider authentication) : CircuitHandler
{
    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
        async context =>
        {
            SignedInUser.Circuit = authentication is IdentityRevalidatingAuthenticationStateProvider revalidating
                ? await revalidating.CheckedUserAsync()
                : (await authentication.GetAuthenticationStateAsync()).User;
            await next(context);
        };
}

using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using DeepExtension.Core.Accounts;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace DeepExtension.Web.Api;

/// <summary>
/// How /api/v1 requests say who they are: <c>Authorization: Bearer &lt;token&gt;</c> (a personal API token), the
/// session cookie (with antiforgery for unsafe methods, see <see cref="ApiAntiforgeryFilter"/>), or HTTP Basic with
/// email and password, which only <c>POST /api/v1/tokens</c> accepts (to get a first token without a browser).
/// </summary>
public static class ApiAuthentication
{
    /// <summary>The policy scheme /api/v1 uses: picks one of the three by the request.</summary>
    public const string Scheme = "Api";
    public const string BearerScheme = "Bearer";
    public const string BasicScheme = "Basic";
    public const string Policy = "Api";

    public static AuthenticationBuilder AddApiAuthentication(this AuthenticationBuilder builder) =>
        builder
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerScheme, null)
            .AddScheme<AuthenticationSchemeOptions, BasicHandler>(BasicScheme, null)
            .AddPolicyScheme(Scheme, "API", options =>
            {
                options.ForwardDefaultSelector = context =>
                {
                    var header = context.Request.Headers.Authorization.ToString();
                    if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) && IsTokenCreation(context.Request)) return BasicScheme;
                    // Any other Authorization header is judged as a token: a wrong one is a 401, never the cookie's user.
                    return header.Length > 0 ? BearerScheme : IdentityConstants.ApplicationScheme;
                };
                // Whatever authenticated (or failed to), refusals are problem details, never a redirect to the sign-in page.
                options.ForwardChallenge = BearerScheme;
                options.ForwardForbid = BearerScheme;
            });

    /// <summary>True when the request authenticated by the session cookie (no Authorization header).</summary>
    public static bool UsesCookie(HttpRequest request) => request.Headers.Authorization.Count == 0;

    private static bool IsTokenCreation(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Equals(ApiEndpoints.Prefix + "/tokens", StringComparison.OrdinalIgnoreCase);

    /// <summary>The email of HTTP Basic credentials, if the request has well-formed ones.</summary>
    internal static string? BasicEmail(HttpRequest request) => BasicCredentials(request)?.Email;

    private static (string Email, string Password)? BasicCredentials(HttpRequest request)
    {
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, BasicScheme, StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
            return null;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            var colon = pair.IndexOf(':');
            return colon <= 0 ? null : (pair[..colon], pair[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Answers a refusal as RFC 7807 problem details.</summary>
    internal static Task WriteProblemAsync(HttpContext context, int status, string title, string detail) =>
        // Whatever the request accepts (a browser asks for HTML): the API answers problem+json.
        Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);

    private sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokenService tokens)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)) return AuthenticateResult.NoResult();
            if (!string.Equals(header.Scheme, BearerScheme, StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(header.Parameter))
                return AuthenticateResult.Fail("Not a bearer token.");
            var principal = await tokens.AuthenticateAsync(header.Parameter.Trim(), Scheme.Name, Context.RequestAborted);
            return principal is null
                ? AuthenticateResult.Fail("Unknown, expired or revoked token.")
                : AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = "Bearer";
            var detail = Request.Headers.Authorization.Count == 0
                ? "Sign in, or send a personal API token as \"Authorization: Bearer <token>\"."
                : "The token is unknown, expired or revoked (or the email and password are wrong).";
            return WriteProblemAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
        }

        protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
            WriteProblemAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", Access.AdminOnlyMessage);
    }

    /// <summary>Email and password, checked like the sign-in form (wrong passwords count towards the lockout).</summary>
    private sealed class BasicHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IServiceScopeFactory scopes,
        CredentialCheck credentials)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
                || !string.Equals(header.Scheme, BasicScheme, StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
                return AuthenticateResult.NoResult();
            if (BasicCredentials(Request) is not { } basic) return AuthenticateResult.Fail("Malformed Basic credentials.");
            var checkedCredentials = await credentials.CheckAsync(basic.Email, basic.Password);
            if (checkedCredentials.User is not { } user) return AuthenticateResult.Fail(CredentialResult.WrongMessage);
            await using var scope = scopes.CreateAsyncScope();
            var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<ApplicationUser>>();
            var principal = await signIn.CreateUserPrincipalAsync(user);
            var identity = principal.Identities.First();
            return AuthenticateResult.Success(new AuthenticationTicket(
                new ClaimsPrincipal(new ClaimsIdentity(identity.Claims, Scheme.Name, identity.NameClaimType, identity.RoleClaimType)), Scheme.Name));
        }
    }
}

/// <summary>
/// The session cookie rides along with any request the browser makes, including ones a foreign page triggers: an unsafe
/// /api/v1 request that authenticated by the cookie must also carry the antiforgery token (header
/// <c>RequestVerificationToken</c>), else it is refused. Token and Basic requests cannot be forged that way.
/// </summary>
public sealed class ApiAntiforgeryFilter(Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) : IEndpointFilter
{
    public const string Message = "A request signed in by the browser's cookie that changes something needs the antiforgery token (header RequestVerificationToken); scripts use a personal API token (Authorization: Bearer).";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        var safe = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method);
        if (!safe && ApiAuthentication.UsesCookie(request) && !await antiforgery.IsRequestValidAsync(context.HttpContext))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Antiforgery token missing", detail: Message);
        }
        return await next(context);
    }
}

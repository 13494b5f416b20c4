using DeepExtension.Core.Accounts;
using DeepExtension.Core.Data;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Web.Accounts;

/// <summary>Identity (users and roles in the application database), cookie sign-in and "everything needs a signed-in user".</summary>
public static class AccountsHostingExtensions
{
    public const string SignInPath = "/account/sign-in";
    public const string SignOutPath = "/account/sign-out";
    public const string ChangePasswordPath = "/account/password";
    public const string AccessDeniedPath = "/account/denied";
    public const string LivenessPath = "/health/live";
    public const string CookieName = "DeepExtension.Auth";

    public static IHostApplicationBuilder AddDeepExtensionAccounts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SetupOptions>().Bind(builder.Configuration.GetSection(SetupOptions.SectionName));
        services.AddOptions<SessionOptions>().Bind(builder.Configuration.GetSection(SessionOptions.SectionName));
        // Identity's EF stores take a context from the scope; it comes from the same factory as everything else.
        services.AddScoped<DeepExtensionDbContext>(sp => sp.GetRequiredService<IDbContextFactory<DeepExtensionDbContext>>().CreateDbContext());

        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, IdentityRevalidatingAuthenticationStateProvider>();
        services.AddAuthentication(options =>
        {
            options.DefaultScheme = IdentityConstants.ApplicationScheme;
            options.DefaultSignInScheme = IdentityConstants.ExternalScheme;
        }).AddIdentityCookies();
        services.ConfigureApplicationCookie(cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.LoginPath = SignInPath;
            cookie.AccessDeniedPath = AccessDeniedPath;
            cookie.SlidingExpiration = true;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(12);
            // Pages redirect to the sign-in page; machines (downloads, health, the Blazor hub) get a plain status.
            // These events replace Identity's, so the session check (Identity's security stamp validation) is set here.
            cookie.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = SessionValidation.ValidateCookieAsync,
                OnRedirectToLogin = context => Refuse(context, StatusCodes.Status401Unauthorized),
                OnRedirectToAccessDenied = context => Refuse(context, StatusCodes.Status403Forbidden),
            };
        });
        services.AddIdentityCore<ApplicationUser>(options =>
            {
                options.User.RequireUniqueEmail = true;
                options.Password.RequiredLength = 8;
                options.Lockout.AllowedForNewUsers = true;
                options.Lockout.MaxFailedAccessAttempts = 5;
                options.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<DeepExtensionDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddSingleton<FirstAdminSetup>();
        services.AddSingleton<CredentialCheck>();
        services.AddDeepExtensionRateLimits(builder.Configuration);
        services.AddSingleton<UserAdministration>();
        services.AddSingleton<ApiTokenService>();
        services.AddHttpContextAccessor();
        services.AddSingleton<ICurrentUser, SignedInUser>();
        services.AddScoped<Microsoft.AspNetCore.Components.Server.Circuits.CircuitHandler, CircuitUserHandler>();
        return builder;
    }

    /// <summary>Authentication and authorization middleware; call before UseAntiforgery.</summary>
    public static WebApplication UseDeepExtensionAccounts(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Sign-out and the bare liveness probe (the only endpoint besides sign-in/setup open to anyone).</summary>
    public static WebApplication MapDeepExtensionAccounts(this WebApplication app)
    {
        app.MapGet(LivenessPath, () => Results.Text("Healthy")).AllowAnonymous();
        // A form field makes the endpoint validate the antiforgery token.
        app.MapPost(SignOutPath, async ([FromForm] string? returnUrl, SignInManager<ApplicationUser> signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect(SignInPath);
        });
        return app;
    }

    /// <summary>A local path to return to after sign-in; anything else (other hosts, "//x", "/\x") becomes "/".</summary>
    public static string LocalReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
            && !url.StartsWith("/account/", StringComparison.OrdinalIgnoreCase)
            ? url
            : "/";

    private static Task Refuse(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        var request = context.Request;
        var isPageRequest = HttpMethods.IsGet(request.Method)
            && !request.Path.StartsWithSegments("/api")
            && !request.Path.StartsWithSegments("/health")
            && !request.Path.StartsWithSegments("/_blazor")
            && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
        if (isPageRequest)
        {
            context.Response.Redirect(context.RedirectUri);
        }
        else
        {
            context.Response.StatusCode = status;
        }
        return Task.CompletedTask;
    }
}

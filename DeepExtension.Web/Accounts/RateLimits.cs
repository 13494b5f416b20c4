using System.Net;
using System.Text;
using System.Threading.RateLimiting;
using DeepExtension.Web.Api;
using Microsoft.AspNetCore.RateLimiting;

namespace DeepExtension.Web.Accounts;

/// <summary>
/// "DeepExtension:RateLimits": how many credential attempts (sign-in form posts, <c>POST /api/v1/tokens</c>) one client
/// address and one account (the email tried, known or not) may make per <see cref="Window"/>, and how many setup-page
/// requests one address may make. Beyond that the answer is 429 with Retry-After.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "DeepExtension:RateLimits";

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
    public int CredentialAttemptsPerAddress { get; set; } = 30;
    public int CredentialAttemptsPerAccount { get; set; } = 10;
    public int SetupRequestsPerAddress { get; set; } = 30;
}

/// <summary>ASP.NET Core's rate limiter on the requests that try passwords or the setup token.</summary>
public static class RateLimits
{
    private const string AccountItem = "DeepExtension.RateLimits.Account";

    public static IServiceCollection AddDeepExtensionRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.SectionName));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>((limiter, configured) =>
        {
            var limits = configured.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    IsCredentialAttempt(context.Request) ? Window("address:" + Address(context), limits.CredentialAttemptsPerAddress, limits)
                    : IsSetupRequest(context.Request) ? Window("setup:" + Address(context), limits.SetupRequestsPerAddress, limits)
                    : RateLimitPartition.GetNoLimiter("")),
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    IsCredentialAttempt(context.Request) && AccountOf(context) is { } account
                        ? Window("account:" + account, limits.CredentialAttemptsPerAccount, limits)
                        : RateLimitPartition.GetNoLimiter("")));
            limiter.OnRejected = (rejected, _) => RefuseAsync(rejected.HttpContext, rejected.Lease, limits.Window);
        });
        return services;
    }

    /// <summary>Call before authentication: a refused attempt never reaches the password check.</summary>
    public static WebApplication UseDeepExtensionRateLimits(this WebApplication app)
    {
        // The account a sign-in form tries is in its body; the limiter's partitioning cannot wait for it, so it is read here
        // (the form is buffered: the page reads the same values).
        app.Use(async (context, next) =>
        {
            if (IsSignInPost(context.Request) && context.Request.HasFormContentType)
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted);
                context.Items[AccountItem] = form["Input.Email"].ToString();
            }
            await next(context);
        });
        app.UseRateLimiter();
        return app;
    }

    private static RateLimitPartition<string> Window(string key, int permits, RateLimitOptions limits) =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, permits),
            Window = limits.Window,
            QueueLimit = 0,
        });

    private static bool IsSignInPost(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Equals(AccountsHostingExtensions.SignInPath, StringComparison.OrdinalIgnoreCase);

    private static bool IsTokenCreation(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Equals(ApiEndpoints.Prefix + "/tokens", StringComparison.OrdinalIgnoreCase);

    private static bool IsCredentialAttempt(HttpRequest request) => IsSignInPost(request) || IsTokenCreation(request);

    private static bool IsSetupRequest(HttpRequest request) =>
        request.Path.StartsWithSegments(FirstAdminSetup.SetupPath, StringComparison.OrdinalIgnoreCase);

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>The email an attempt tries, normalised: the sign-in form's, or Basic credentials'.</summary>
    private static string? AccountOf(HttpContext context)
    {
        var email = context.Items[AccountItem] as string ?? ApiAuthentication.BasicEmail(context.Request);
        return string.IsNullOrWhiteSpace(email) ? null : email.Trim().ToUpperInvariant();
    }

    private static async ValueTask RefuseAsync(HttpContext context, RateLimitLease lease, TimeSpan window)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : window;
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var detail = $"Too many attempts: try again in {seconds} s.";
        var wantsPage = !context.Request.Path.StartsWithSegments(ApiEndpoints.Prefix)
            && context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
        if (wantsPage)
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(
                $"<!DOCTYPE html><html><head><title>Too many attempts · DeepExtension</title></head><body><p>{WebUtility.HtmlEncode(detail)}</p>"
                + $"<p><a href=\"{AccountsHostingExtensions.SignInPath}\">Back to sign-in</a></p></body></html>", Encoding.UTF8);
            return;
        }
        await Results.Problem(detail, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests").ExecuteAsync(context);
    }
}

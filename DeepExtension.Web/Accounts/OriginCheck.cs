namespace DeepExtension.Web.Accounts;

/// <summary>
/// The Blazor hub (its negotiation and its WebSocket) accepts only pages served by this console: a browser sends the
/// page's Origin, which must be the console's own address or one of "DeepExtension:AllowedOrigins". Together with
/// AllowedHosts (localhost by default) this closes DNS rebinding and cross-site WebSocket hijacking.
/// </summary>
public static class OriginCheck
{
    public const string AllowedOriginsKey = "DeepExtension:AllowedOrigins";

    public static WebApplication UseHubOriginCheck(this WebApplication app)
    {
        var configured = app.Configuration.GetSection(AllowedOriginsKey).Get<string[]>() ?? [];
        var allowed = configured.Select(o => o.TrimEnd('/')).ToHashSet(StringComparer.OrdinalIgnoreCase);
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/_blazor")
                && context.Request.Headers.Origin.ToString() is { Length: > 0 } origin
                && !IsAllowed(origin, context.Request, allowed))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }
            await next();
        });
        return app;
    }

    internal static bool IsAllowed(string origin, HttpRequest request, IReadOnlySet<string> allowed) =>
        allowed.Contains(origin.TrimEnd('/'))
        || (Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
}

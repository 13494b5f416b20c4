using DeepExtension.Core.Data;
using DeepExtension.Core.Runs;
using DeepExtension.Web.Accounts;
using DeepExtension.Web.Api;
using DeepExtension.Web.Components;
using DeepExtension.Web.Nodes;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MudBlazor;
using MudBlazor.Services;

namespace DeepExtension.Web;

public static class WebHostingExtensions
{
    public const string HealthPath = "/health";

    public static IHostApplicationBuilder AddDeepExtensionWeb(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices(mud => mud.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight);
        builder.Services.AddScoped<Components.Controls.BrowserInterop>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        builder.AddDeepExtensionAccounts();
        builder.AddDeepExtensionApi();
        builder.AddNodeFeed();
        builder.Services.AddHostedService<RunPagesWarmUp>();
        return builder;
    }

    public static WebApplication MapDeepExtensionWeb(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }
        // The API answers every error as problem details, never the error page (or the developer page's HTML).
        app.UseWhen(context => context.Request.Path.StartsWithSegments(ApiEndpoints.Prefix), api =>
        {
            api.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = ApiProblems.WriteExceptionAsync });
            api.UseStatusCodePages();
        });
        app.UseHubOriginCheck();
        app.UseDeepExtensionRateLimits();
        app.UseApiMethodNotAllowed();
        app.UseDeepExtensionAccounts();
        app.UseAntiforgery();
        // Scripts, styles and fonts are the same for everyone, and the sign-in page needs them.
        app.MapStaticAssets().AllowAnonymous();
        app.MapDeepExtensionAccounts();
        // /health and the downloads take a personal API token (scripts, monitors) as well as the session cookie.
        app.MapHealthChecks(HealthPath, new HealthCheckOptions
        {
            ResponseWriter = async (context, report) =>
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsJsonAsync(new
                {
                    status = report.Status.ToString(),
                    checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description }),
                });
            },
        }).RequireAuthorization(ApiAuthentication.Policy);
        // Browsers that ask for /favicon.ico before reading the page's icon link get the same icon.
        app.MapGet("/favicon.ico", () => Results.Redirect("/favicon.svg", permanent: true));
        // The first download address, kept so links to it still work; /api/v1/trains/{id}/log is the same.
        app.MapGet("/api/runs/{id:guid}/log", DownloadRunLogAsync).RequireAuthorization(ApiAuthentication.Policy);
        app.MapDeepExtensionApi();
        app.MapNodeFeed();
        app.MapEvaluationDownloads();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    /// <summary>
    /// The whole log of a run as plain text, one "time LEVEL message" line each; Viewers get it without the server's
    /// absolute paths and stack frames (<see cref="LogRedaction"/>).
    /// </summary>
    internal static async Task<IResult> DownloadRunLogAsync(Guid id, TrainingRunService runs, DeepExtension.Core.Accounts.ICurrentUser user, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(id, cancellationToken) is not { } run) return Results.NotFound();
        var lines = LogFile.ReadAll(runs.FilesOf(run));
        if (!DeepExtension.Core.Accounts.Access.CanChange(user))
        {
            lines = lines.Select(line => LogRedaction.ForViewer(line.Message) is { } message ? line with { Message = message } : null)
                .OfType<LogLine>().ToList();
        }
        var text = string.Concat(lines.Select(line => line.ToText() + "\n"));
        return Results.File(System.Text.Encoding.UTF8.GetBytes(text), "text/plain; charset=utf-8", $"{run.Name}-{run.Id.ToString("N")[..8]}.log");
    }

    /// <summary>Reachable is not enough: a database that refuses writes (read-only or immutable file, full disk) is Unhealthy too.</summary>
    private sealed class DatabaseHealthCheck(IDbContextFactory<DeepExtensionDbContext> dbFactory, DatabaseSetup setup) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                if (!await db.Database.CanConnectAsync(cancellationToken)) return HealthCheckResult.Unhealthy("The database cannot be reached.");
                return await setup.ProbeWriteAsync(cancellationToken) is { } refused
                    ? HealthCheckResult.Unhealthy($"The database refuses writes: {refused}")
                    : HealthCheckResult.Healthy($"{db.Database.ProviderName} reachable and writable");
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy("The database cannot be reached.", ex);
            }
        }
    }
}

using System.Net;
using System.Text.RegularExpressions;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Accounts;

/// <summary>Every endpoint the console maps, asked without a sign-in cookie, over real HTTP.</summary>
[OuterTier("starts the console host")]
public sealed partial class AnonymousAccessTests : IAsyncLifetime
{
    // The only endpoints anyone may reach: signing in, the one-time setup, the error page, the bare liveness probe.
    private static readonly string[] OpenRoutes = ["/account/sign-in", "/account/setup", "/error", AccountsHostingExtensions.LivenessPath];

    private readonly ConsoleHostFixture _console = new();

    public Task InitializeAsync() => _console.InitializeAsync();

    public Task DisposeAsync() => _console.DisposeAsync();

    [Fact]
    public async Task EveryEndpoint_AnonymousRequest_IsRefused()
    {
        var endpoints = _console.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        using var client = _console.Host.CreateAnonymousClient();
        var checkedRoutes = new List<string>();
        var failures = new List<string>();

        foreach (var endpoint in endpoints)
        {
            var route = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                // Open endpoints are the static files (scripts, styles, fonts) and the short list above; nothing else.
                if (!OpenRoutes.Contains(route) && !IsStaticAsset(endpoint))
                {
                    failures.Add($"{route} allows anonymous requests");
                }
                continue;
            }
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods is { Count: > 0 } m ? m : ["GET", "POST"];
            foreach (var method in methods.Where(m => m != "OPTIONS"))
            {
                var request = new HttpRequestMessage(new HttpMethod(method), Concrete(endpoint.RoutePattern));
                request.Headers.Accept.ParseAdd("text/html");
                if (method != "GET" && method != "HEAD") request.Content = new StringContent("");
                using var response = await client.SendAsync(request);
                checkedRoutes.Add($"{method} {route}");
                var refused = response.StatusCode == HttpStatusCode.Unauthorized
                    || (response.StatusCode == HttpStatusCode.Redirect
                        && response.Headers.Location?.OriginalString.Contains(AccountsHostingExtensions.SignInPath, StringComparison.Ordinal) == true);
                if (!refused) failures.Add($"{method} {route} answered {(int)response.StatusCode}");
            }
        }

        Assert.Empty(failures);
        // The enumeration really covered the console's own endpoints: pages, downloads, health details and the hub.
        Assert.Contains("GET /base-models", checkedRoutes);
        Assert.Contains("GET /health", checkedRoutes);
        Assert.Contains(checkedRoutes, r => r.StartsWith("GET /api/runs/", StringComparison.Ordinal));
        Assert.Contains("POST /_blazor/negotiate", checkedRoutes);
        Assert.Contains("GET /_blazor", checkedRoutes);
        // The worker nodes' hub takes a node key, never an anonymous request.
        Assert.Contains("POST /hubs/nodes/negotiate", checkedRoutes);
        Assert.Contains($"POST {AccountsHostingExtensions.SignOutPath}", checkedRoutes);
        Assert.Contains("GET /account/password", checkedRoutes);
        // The HTTP API and its description: every resource of /api/v1 is in the enumeration and refused.
        foreach (var expected in new[] { "GET /api/v1/base-models/", "POST /api/v1/base-models/", "DELETE /api/v1/base-models/{id:guid}",
                     "POST /api/v1/datasets/", "POST /api/v1/datasets/{id:guid}/versions", "GET /api/v1/training-methods/", "POST /api/v1/trains/",
                     "POST /api/v1/trains/{id:guid}/cancel", "GET /api/v1/trains/{id:guid}/metrics", "POST /api/v1/customized-models/{id:guid}/save",
                     "POST /api/v1/complete-models/{id:guid}/deploy", "DELETE /api/v1/deployments/{id:guid}", "POST /api/v1/tokens/",
                     "GET /openapi/{documentName}.json" })
        {
            Assert.True(checkedRoutes.Contains(expected), $"{expected} was not checked; the API routes checked: {string.Join(", ", checkedRoutes.Where(r => r.Contains("api/v1") || r.Contains("openapi")))}");
        }
    }

    [Fact]
    public async Task Page_AnonymousBrowserRequest_RedirectsToSignInWithTheReturnAddress()
    {
        using var client = _console.Host.CreateAnonymousClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/model-training?x=1");
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("/account/sign-in?ReturnUrl=%2Fmodel-training%3Fx%3D1", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task LivenessProbe_Anonymous_AnswersWithoutDetails()
    {
        using var client = _console.Host.CreateAnonymousClient();

        var live = await client.GetAsync(AccountsHostingExtensions.LivenessPath);
        var details = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, details.StatusCode);
    }

    [Fact]
    public async Task SignIn_FiveWrongPasswords_LocksTheAccountEvenForTheRightPassword()
    {
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(_console.Host.Address) };
        var wrong = TestAccount.Admin with { Password = "not-the-password" };

        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var failed = await wrong.SignInAsync(client, client.BaseAddress!);
            var body = await failed.Content.ReadAsStringAsync();
            // The fifth failure is the one that locks.
            Assert.Contains(attempt < 4 ? "Wrong email or password." : "this account is locked", body);
        }
        using var locked = await TestAccount.Admin.SignInAsync(client, client.BaseAddress!);

        Assert.Contains("this account is locked", await locked.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task SignIn_RightPassword_OpensPagesAndHealthDetails()
    {
        using var client = _console.Host.CreateLoopbackClient();

        var health = await client.GetAsync("/health");
        var page = await client.GetStringAsync("/datasets");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains(">Datasets</h1>", page);
    }

    private static bool IsStaticAsset(RouteEndpoint endpoint) =>
        // MapStaticAssets gives each file its own endpoint named after the file.
        endpoint.DisplayName?.Contains("StaticAsset", StringComparison.OrdinalIgnoreCase) == true
        || StaticFileRoute().IsMatch(endpoint.RoutePattern.RawText ?? "");

    private static string Concrete(RoutePattern pattern)
    {
        var segments = pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter => parameter.ParameterPolicies.Any(p => p.Content == "guid") ? Guid.NewGuid().ToString()
                : parameter.ParameterPolicies.Any(p => p.Content is "int" or "long") ? "1"
                : "x",
            _ => "",
        })));
        return "/" + string.Join('/', segments);
    }

    [GeneratedRegex(@"\.(css|js|mjs|map|woff2?|ttf|svg|png|ico|json|wasm|gz|br)$", RegexOptions.IgnoreCase)]
    private static partial Regex StaticFileRoute();
}

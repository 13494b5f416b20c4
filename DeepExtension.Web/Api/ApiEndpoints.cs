using System.Text.Json.Serialization;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Common;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;

namespace DeepExtension.Web.Api;

/// <summary>The HTTP API under /api/v1: the same services (and so the same rules and messages) as the pages.</summary>
public static class ApiEndpoints
{
    public const string Prefix = "/api/v1";
    public const string OpenApiPath = "/openapi/v1.json";

    public static IHostApplicationBuilder AddDeepExtensionApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            // Every time the API answers is ISO 8601 with its offset: the database hands times back without a kind.
            json.SerializerOptions.Converters.Add(new UtcDateTimeConverter());
        });
        builder.Services.AddAuthentication().AddApiAuthentication();
        builder.Services.AddAuthorizationBuilder().AddPolicy(ApiAuthentication.Policy, policy => policy
            .AddAuthenticationSchemes(ApiAuthentication.Scheme)
            .RequireAuthenticatedUser());
        builder.Services.AddSingleton<ApiAntiforgeryFilter>();
        builder.Services.AddOpenApi("v1", options => options.ShouldInclude = description =>
            description.RelativePath?.StartsWith(Prefix.TrimStart('/'), StringComparison.Ordinal) == true);
        return builder;
    }

    /// <summary>
    /// A method a route of /api/v1 does not support answers 405 with an Allow header and problem details. Routing picks
    /// a bare 405 endpoint for it, without the API's authentication, so the sign-in fallback used to answer it: a 401
    /// with an empty body, even to a valid token. Runs before authentication; credentials are still checked first
    /// (a missing or wrong token stays a 401).
    /// </summary>
    public static WebApplication UseApiMethodNotAllowed(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint() is not { DisplayName: MethodNotAllowedEndpoint } endpoint
                || !context.Request.Path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                await next(context);
                return;
            }
            var authenticated = await context.AuthenticateAsync(ApiAuthentication.Scheme);
            if (!authenticated.Succeeded)
            {
                await context.ChallengeAsync(ApiAuthentication.Scheme);
                return;
            }
            await endpoint.RequestDelegate!(context); // 405 and the Allow header
            var allowed = context.Response.Headers.Allow.ToString();
            await Results.Problem($"{context.Request.Method} is not supported on {context.Request.Path}; it supports {allowed}.",
                statusCode: StatusCodes.Status405MethodNotAllowed, title: "Method not allowed").ExecuteAsync(context);
        });
        return app;
    }

    /// <summary>The display name ASP.NET Core's routing gives the endpoint it selects when only the method does not match.</summary>
    private const string MethodNotAllowedEndpoint = "405 HTTP Method Not Supported";

    public static WebApplication MapDeepExtensionApi(this WebApplication app)
    {
        var api = app.MapGroup(Prefix)
            .RequireAuthorization(ApiAuthentication.Policy)
            .AddEndpointFilter<ApiAntiforgeryFilter>()
            // Checked by ApiAntiforgeryFilter for cookie requests only: tokens need none.
            .DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        api.MapTokens();
        api.MapBaseModels();
        api.MapDatasets();
        api.MapTrainingMethods();
        api.MapTrains();
        api.MapCustomizedModels();
        api.MapCompleteModels();
        api.MapDeployments();
        // The description of the API needs a sign-in (cookie or token) like everything else: it maps the whole surface.
        app.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization(ApiAuthentication.Policy);
        return app;
    }

    /// <summary>
    /// A failed service call as RFC 7807 problem details carrying the service's own messages: field errors as a
    /// validation problem (400, keyed by field), a role's refusal as 403, a missing object as 404, anything else 400.
    /// </summary>
    internal static IResult Problem<T>(OperationResult<T> result)
    {
        var general = result.ErrorsFor(OperationResult<T>.General).ToList();
        var fields = result.Errors.Where(e => e.Key != OperationResult<T>.General).ToDictionary(e => e.Key, e => e.Value);
        var detail = general.Count > 0 ? string.Join(" ", general) : null;
        if (fields.Count > 0) return TypedResults.ValidationProblem(fields, detail, title: "The request is not valid.");
        var status = general.Any(Access.IsRefusal) ? StatusCodes.Status403Forbidden
            : general.Any(m => m.Contains("no longer exists", StringComparison.Ordinal) || m.Contains("already removed", StringComparison.Ordinal)) ? StatusCodes.Status404NotFound
            : StatusCodes.Status400BadRequest;
        return TypedResults.Problem(detail, statusCode: status, title: status switch
        {
            StatusCodes.Status403Forbidden => "Forbidden",
            StatusCodes.Status404NotFound => "Not found",
            _ => "The request cannot be done.",
        });
    }

    internal static IResult NotFound(string what) =>
        TypedResults.Problem($"This {what} does not exist.", statusCode: StatusCodes.Status404NotFound, title: "Not found");

    /// <summary>202 with the resource to poll until the work has finished.</summary>
    internal static IResult Accepted<T>(string location, T body) => TypedResults.Accepted(location, body);

    private static void MapTokens(this RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/tokens").WithTags("Tokens");
        tokens.MapGet("", async (Accounts.ApiTokenService service, CancellationToken ct) => TypedResults.Ok(await service.ListMineAsync(ct)))
            .WithSummary("Your tokens (never their secrets).");
        tokens.MapPost("", async (CreateTokenRequest request, Accounts.ApiTokenService service, CancellationToken ct) =>
        {
            var result = await service.CreateAsync(request.Name, request.ExpiresInDays, ct);
            if (!result.Succeeded) return Problem(result);
            var created = result.Value!;
            return TypedResults.Created($"{Prefix}/tokens/{created.Row.Id}", new CreatedTokenResponse(created.Row.Id, created.Row.Name, created.Token, created.Row.ExpiresAtUtc));
        }).WithSummary("Creates a personal token (session cookie, HTTP Basic email:password, or a token); the secret is in this answer only.")
            .Produces<CreatedTokenResponse>(StatusCodes.Status201Created).ProducesValidationProblem();
        tokens.MapDelete("/{id:guid}", async (Guid id, Accounts.ApiTokenService service, CancellationToken ct) =>
        {
            var result = await service.RevokeAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : Problem(result);
        }).WithSummary("Revokes one of your tokens.");
    }
}

/// <summary>Writes every <see cref="DateTime"/> as ISO 8601 in UTC with its "Z" (<see cref="DisplayFormat.Iso"/>); reads any ISO 8601 time as UTC.</summary>
internal sealed class UtcDateTimeConverter : System.Text.Json.Serialization.JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DisplayFormat.ParseUtc(reader.GetString()) ?? throw new JsonException("Expected an ISO 8601 time.");

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
        writer.WriteStringValue(DisplayFormat.Iso(value));
}

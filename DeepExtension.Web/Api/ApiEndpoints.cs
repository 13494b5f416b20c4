using System.Text.Json.Serialization;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Common;
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
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        builder.Services.AddAuthentication().AddApiAuthentication();
        builder.Services.AddAuthorizationBuilder().AddPolicy(ApiAuthentication.Policy, policy => policy
            .AddAuthenticationSchemes(ApiAuthentication.Scheme)
            .RequireAuthenticatedUser());
        builder.Services.AddSingleton<ApiAntiforgeryFilter>();
        builder.Services.AddOpenApi("v1", options => options.ShouldInclude = description =>
            description.RelativePath?.StartsWith(Prefix.TrimStart('/'), StringComparison.Ordinal) == true);
        return builder;
    }

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

using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Deployment;

namespace DeepExtension.Web.Api;

internal static class CustomizedModelsApi
{
    public static void MapCustomizedModels(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/customized-models").WithTags("Customized models");
        group.MapGet("", async (CustomizedModelService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListAsync(ct)).Select(CustomizedModelResponse.Of).ToList()));

        group.MapPost("/{id:guid}/save", async (Guid id, CompleteModelService service, CancellationToken ct) =>
        {
            var result = await service.SaveAsync(id, ct);
            return result.Succeeded
                ? ApiEndpoints.Accepted($"{ApiEndpoints.Prefix}/saves/{result.Value!.Id}", SaveResponse.Of(result.Value))
                : ApiEndpoints.Problem(result);
        }).WithSummary("Merges the adapter into a complete model; poll the Location (the save) until it is Succeeded.")
            .Produces<SaveResponse>(StatusCodes.Status202Accepted);

        group.MapPost("/{id:guid}/deploy", (Guid id, DeployModelRequest? request, DeploymentService deployments, DeploymentEnvironmentService environments,
            CancellationToken ct) => DeployAsync(DeploymentSourceKind.Customized, id, request, deployments, environments, ct))
            .WithSummary("Deploys to Ollama; poll the Location (the deployment) until it is Succeeded.").Produces<DeploymentResponse>(StatusCodes.Status202Accepted);

        group.MapDelete("/{id:guid}", async (Guid id, CustomizedModelService service, CancellationToken ct) =>
        {
            var result = await service.DeleteAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : ApiEndpoints.Problem(result);
        });

        api.MapGet("/saves/{id:guid}", async (Guid id, CompleteModelService service, CancellationToken ct) =>
            await service.GetSaveAsync(id, ct) is { } save ? Results.Ok(SaveResponse.Of(save)) : ApiEndpoints.NotFound("save"))
            .WithTags("Customized models").WithSummary("A save (merge) and, once it succeeded, the complete model it made.").Produces<SaveResponse>();
    }

    /// <summary>The Deploy dialog's defaults (default environment, suggested name, no quantization) where the request leaves them out.</summary>
    internal static async Task<IResult> DeployAsync(DeploymentSourceKind kind, Guid id, DeployModelRequest? request, DeploymentService deployments,
        DeploymentEnvironmentService environments, CancellationToken ct)
    {
        var plan = await deployments.PlanAsync(kind, id, ct);
        if (!plan.Succeeded) return ApiEndpoints.Problem(plan);
        var environment = request?.EnvironmentId ?? (await environments.ListAsync(ct)).FirstOrDefault(e => e.IsDefault)?.Id ?? Guid.Empty;
        var result = await deployments.DeployAsync(new DeployRequest(kind, id, environment,
            request?.OllamaModel ?? plan.Value!.DefaultModelName, request?.Quantization ?? OllamaQuantization.None), ct);
        return result.Succeeded
            ? ApiEndpoints.Accepted($"{ApiEndpoints.Prefix}/deployments/{result.Value!.Id}", DeploymentResponse.Of(result.Value))
            : ApiEndpoints.Problem(result);
    }
}

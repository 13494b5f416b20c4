using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;

namespace DeepExtension.Web.Api;

internal static class CompleteModelsApi
{
    public static void MapCompleteModels(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/complete-models").WithTags("Complete models");
        group.MapGet("", async (CompleteModelService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListAsync(ct)).Select(CompleteModelResponse.Of).ToList()));
        group.MapPost("/{id:guid}/deploy", (Guid id, DeployModelRequest? request, DeploymentService deployments, DeploymentEnvironmentService environments,
            CancellationToken ct) => CustomizedModelsApi.DeployAsync(DeploymentSourceKind.Complete, id, request, deployments, environments, ct))
            .WithSummary("Deploys to Ollama; poll the Location (the deployment) until it is Succeeded.").Produces<DeploymentResponse>(StatusCodes.Status202Accepted);
        group.MapDelete("/{id:guid}", async (Guid id, CompleteModelService service, CancellationToken ct) =>
        {
            var result = await service.DeleteAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : ApiEndpoints.Problem(result);
        });
    }
}

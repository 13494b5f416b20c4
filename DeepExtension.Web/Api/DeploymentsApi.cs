using DeepExtension.Core.Deployment;

namespace DeepExtension.Web.Api;

internal static class DeploymentsApi
{
    public static void MapDeployments(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/deployments").WithTags("Deployments");
        group.MapGet("", async (DeploymentService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListAsync(ct)).Select(DeploymentResponse.Of).ToList()));
        group.MapGet("/{id:guid}", async (Guid id, DeploymentService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } deployment ? Results.Ok(DeploymentResponse.Of(deployment)) : ApiEndpoints.NotFound("deployment"))
            .Produces<DeploymentResponse>();
        group.MapPost("/{id:guid}/cancel", async (Guid id, DeploymentService service, CancellationToken ct) =>
        {
            var result = await service.CancelAsync(id, ct);
            return result.Succeeded
                ? ApiEndpoints.Accepted($"{ApiEndpoints.Prefix}/deployments/{id}", DeploymentResponse.Of(result.Value!))
                : ApiEndpoints.Problem(result);
        }).WithSummary("Stops a queued or running deployment (as Live Models' Cancel); poll the Location until it has ended.")
            .Produces<DeploymentResponse>(StatusCodes.Status202Accepted);
        group.MapDelete("/{id:guid}", async (Guid id, DeploymentService service, CancellationToken ct) =>
        {
            var result = await service.RemoveAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : ApiEndpoints.Problem(result);
        }).WithSummary("Removes the model from Ollama and the deployment from the console.");
    }
}

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
        group.MapDelete("/{id:guid}", async (Guid id, DeploymentService service, CancellationToken ct) =>
        {
            var result = await service.RemoveAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : ApiEndpoints.Problem(result);
        }).WithSummary("Removes the model from Ollama and the deployment from the console.");
    }
}

using DeepExtension.Core.BaseModels;

namespace DeepExtension.Web.Api;

internal static class BaseModelsApi
{
    public static void MapBaseModels(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/base-models").WithTags("Base models");
        group.MapGet("", async (BaseModelService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListAsync(ct)).Select(BaseModelResponse.Of).ToList()));
        group.MapGet("/{id:guid}", async (Guid id, BaseModelService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } model ? Results.Ok(BaseModelResponse.Of(model)) : ApiEndpoints.NotFound("base model"))
            .Produces<BaseModelResponse>();
        group.MapPost("", async (RegisterBaseModelRequest request, BaseModelService service, CancellationToken ct) =>
        {
            var result = await service.CreateAsync(new BaseModelInput(request.TechnicalName, request.ModelName, request.Path, request.DeploymentTemplate), ct);
            return result.Succeeded
                ? Results.Created($"{ApiEndpoints.Prefix}/base-models/{result.Value!.Id}", BaseModelResponse.Of(result.Value))
                : ApiEndpoints.Problem(result);
        }).WithSummary("Registers a model folder under the models root.").Produces<BaseModelResponse>(StatusCodes.Status201Created).ProducesValidationProblem();
        group.MapPut("/{id:guid}", async (Guid id, RegisterBaseModelRequest request, BaseModelService service, CancellationToken ct) =>
        {
            if (await service.GetAsync(id, ct) is null) return ApiEndpoints.NotFound("base model");
            var result = await service.UpdateAsync(id, new BaseModelInput(request.TechnicalName, request.ModelName, request.Path, request.DeploymentTemplate), ct);
            return result.Succeeded ? Results.Ok(BaseModelResponse.Of(result.Value!)) : ApiEndpoints.Problem(result);
        }).WithSummary("Changes names, path or Deployment Template; the path stays while trains or models depend on it, unless the weights are identical.")
            .Produces<BaseModelResponse>().ProducesValidationProblem();
        group.MapDelete("/{id:guid}", async (Guid id, BaseModelService service, CancellationToken ct) =>
        {
            if (await service.GetAsync(id, ct) is null) return ApiEndpoints.NotFound("base model");
            var result = await service.DeleteAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : ApiEndpoints.Problem(result);
        }).WithSummary("Removes the registration (the files stay).");
    }
}

using DeepExtension.Core.Training;

namespace DeepExtension.Web.Api;

internal static class TrainingMethodsApi
{
    public static void MapTrainingMethods(this RouteGroupBuilder api)
    {
        api.MapGroup("/training-methods").WithTags("Training methods")
            .MapGet("", async (TrainingMethodService service, CancellationToken ct) =>
                TypedResults.Ok((await service.ListAsync(ct)).Select(TrainingMethodResponse.Of).ToList()))
            .WithSummary("The built-in methods and the saved presets, with their default parameters.");
    }
}

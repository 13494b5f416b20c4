using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core.Runs;

namespace DeepExtension.Web.Api;

internal static class TrainsApi
{
    public static void MapTrains(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/trains").WithTags("Trains");
        group.MapGet("", async (TrainingRunService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListAsync(ct)).Select(TrainResponse.Of).ToList()));
        group.MapGet("/{id:guid}", async (Guid id, TrainingRunService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } run ? Results.Ok(TrainResponse.Of(run)) : ApiEndpoints.NotFound("train"))
            .WithName("GetTrain").Produces<TrainResponse>();

        group.MapPost("", async (StartTrainRequest request, TrainingRunService service, CancellationToken ct) =>
        {
            var result = await service.StartAsync(new NewTrainRequest(request.Name, request.BaseModelId, request.DatasetVersionId, request.MethodId,
                request.Parameters ?? new JsonObject(), request.Device), ct);
            return result.Succeeded ? ApiEndpoints.Accepted(Location(result.Value!.Id), TrainResponse.Of(result.Value)) : ApiEndpoints.Problem(result);
        }).WithSummary("Queues a train; poll the Location until its status is Succeeded, Failed or Cancelled.")
            .Produces<TrainResponse>(StatusCodes.Status202Accepted).ProducesValidationProblem();

        group.MapPost("/{id:guid}/cancel", async (Guid id, TrainingRunService service, CancellationToken ct) =>
        {
            var result = await service.CancelAsync(id, ct);
            return result.Succeeded ? ApiEndpoints.Accepted(Location(id), TrainResponse.Of(result.Value!)) : ApiEndpoints.Problem(result);
        }).WithSummary("A queued train is removed from the queue; a running one stops at its next step.").Produces<TrainResponse>(StatusCodes.Status202Accepted);

        group.MapPost("/{id:guid}/resume", async (Guid id, TrainingRunService service, CancellationToken ct) =>
        {
            var result = await service.ResumeAsync(id, ct);
            return result.Succeeded ? ApiEndpoints.Accepted(Location(id), TrainResponse.Of(result.Value!)) : ApiEndpoints.Problem(result);
        }).WithSummary("Queues a failed or cancelled train again; it continues from its last checkpoint.").Produces<TrainResponse>(StatusCodes.Status202Accepted);

        group.MapDelete("/{id:guid}", async (Guid id, TrainingRunService service, CancellationToken ct) =>
        {
            var result = await service.DeleteAsync(id, ct);
            return result.Succeeded ? Results.NoContent() : ApiEndpoints.Problem(result);
        }).WithSummary("Deletes a finished train. " + TrainingRunService.DeletionEffect + " Refused (400) while it is queued or running.")
            .Produces(StatusCodes.Status204NoContent);

        group.MapGet("/{id:guid}/metrics", async (Guid id, long? fromStep, TrainingRunService service, CancellationToken ct) =>
        {
            if (await service.GetAsync(id, ct) is not { } run) return ApiEndpoints.NotFound("train");
            return Results.Text(MetricLines(service.FilesOf(run), fromStep ?? 0), "application/x-ndjson", Encoding.UTF8);
        }).WithSummary("The metric points as JSON lines (step, epoch, elapsed, total_steps and the metrics), from fromStep on.");

        group.MapGet("/{id:guid}/log", WebHostingExtensions.DownloadRunLogAsync)
            .WithSummary("The train's log as text; Viewers get it without absolute paths and stack frames.");
    }

    private static string Location(Guid id) => $"{ApiEndpoints.Prefix}/trains/{id}";

    /// <summary>
    /// The points of metrics.jsonl whose step is at least <paramref name="fromStep"/>, one JSON line each, read as every page
    /// reads them (a line still being written, or written under an outdated lease, is not a point); the lease token is the
    /// file's business and is left out.
    /// </summary>
    private static string MetricLines(RunFiles files, long fromStep)
    {
        var text = new StringBuilder();
        foreach (var point in MetricsFile.ReadAll(files).Where(p => p.Step >= fromStep))
        {
            text.Append((point with { LeaseToken = null }).ToJsonLine()).Append('\n');
        }
        return text.ToString();
    }
}

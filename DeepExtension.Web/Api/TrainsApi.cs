using System.Text;
using System.Text.Json;
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

        group.MapGet("/{id:guid}/metrics", async (Guid id, long? fromStep, TrainingRunService service, CancellationToken ct) =>
        {
            if (await service.GetAsync(id, ct) is not { } run) return ApiEndpoints.NotFound("train");
            return Results.Text(MetricLines(service.FilesOf(run).MetricsPath, fromStep ?? 0), "application/x-ndjson", Encoding.UTF8);
        }).WithSummary("The metric points as JSON lines (step, epoch, elapsed, total_steps and the metrics), from fromStep on.");

        group.MapGet("/{id:guid}/log", WebHostingExtensions.DownloadRunLogAsync)
            .WithSummary("The train's log as text; Viewers get it without absolute paths and stack frames.");
    }

    private static string Location(Guid id) => $"{ApiEndpoints.Prefix}/trains/{id}";

    /// <summary>The lines of metrics.jsonl as written, those whose step is at least <paramref name="fromStep"/>.</summary>
    private static string MetricLines(string path, long fromStep)
    {
        if (!File.Exists(path)) return "";
        var text = new StringBuilder();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            // A line being written has no end yet: it is not a point.
            if (line.Length == 0 || !line.EndsWith('}')) continue;
            try
            {
                using var point = JsonDocument.Parse(line);
                if (point.RootElement.TryGetProperty("step", out var step) && step.TryGetInt64(out var value) && value >= fromStep)
                    text.Append(line).Append('\n');
            }
            catch (JsonException)
            {
                // Skipped, as the readers of the pages skip it.
            }
        }
        return text.ToString();
    }
}

using DeepExtension.Core.Evaluations;

namespace DeepExtension.Web;

/// <summary>An evaluation's per-example results as downloads: CSV (one row per example and model) and the JSON lines as stored.</summary>
internal static class EvaluationDownloads
{
    public static WebApplication MapEvaluationDownloads(this WebApplication app)
    {
        app.MapGet("/api/evaluations/{id:guid}/results.csv", (Guid id, EvaluationService evaluations, CancellationToken cancellationToken) =>
            DownloadAsync(id, evaluations, "csv", cancellationToken)).RequireAuthorization(Api.ApiAuthentication.Policy);
        app.MapGet("/api/evaluations/{id:guid}/results.jsonl", (Guid id, EvaluationService evaluations, CancellationToken cancellationToken) =>
            DownloadAsync(id, evaluations, "jsonl", cancellationToken)).RequireAuthorization(Api.ApiAuthentication.Policy);
        return app;
    }

    private static async Task<IResult> DownloadAsync(Guid id, EvaluationService evaluations, string format, CancellationToken cancellationToken)
    {
        if (await evaluations.GetAsync(id, cancellationToken) is not { } evaluation) return Results.NotFound();
        var examples = evaluations.ReadResults(id);
        var name = $"evaluation-{id.ToString("N")[..8]}.{format}";
        return format == "csv"
            ? Results.File(System.Text.Encoding.UTF8.GetBytes(EvaluationResults.ToCsv(examples, evaluation.Models.Select(m => m.Name).ToList())), "text/csv; charset=utf-8", name)
            : Results.File(System.Text.Encoding.UTF8.GetBytes(EvaluationResults.ToJsonLines(examples)), "application/jsonl; charset=utf-8", name);
    }
}

using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Runs;

namespace DeepExtension.Web;

/// <summary>
/// Runs Compare's database reads, and a train page's read of its run and its evaluations, once in the background after
/// start-up, on ids that match nothing. EF Core compiles each query the first time it runs (about 0.2 s for these reads together on two
/// cores, bench/results.md); without this, the first person to open one of these pages after a restart waits for it.
/// <see cref="EnabledKey"/> = false turns it off.
/// </summary>
internal sealed class RunPagesWarmUp(
    RunComparisonService comparisons,
    EvaluationService evaluations,
    TrainingRunService runs,
    IConfiguration configuration,
    ILogger<RunPagesWarmUp> logger) : BackgroundService
{
    public const string EnabledKey = "DeepExtension:WarmUp:Enabled";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!configuration.GetValue(EnabledKey, true)) return;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            IReadOnlyList<Guid> none = [Guid.NewGuid(), Guid.NewGuid()];
            await comparisons.CompareAsync(none, stoppingToken);
            await evaluations.ForRunsAsync(none, stoppingToken);
            await evaluations.ForAsync(none[0], none[1], stoppingToken);
            await runs.GetAsync(none[0], stoppingToken);
            logger.LogDebug("Run pages' queries compiled in {Milliseconds:0} ms", clock.Elapsed.TotalMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only a head start: a page that runs the same read later reports what is wrong with the database.
            logger.LogDebug(ex, "Warming up the run pages' queries failed");
        }
    }
}

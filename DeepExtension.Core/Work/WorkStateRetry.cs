using Microsoft.Extensions.Configuration;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace DeepExtension.Core.Work;

/// <summary>
/// Retries a state change the database refused (read-only or immutable file, disk full, a lock held too long) with
/// exponential backoff for a bounded time, <c>DeepExtension:Work:StateRetrySeconds</c> (default two minutes): long
/// enough to ride out an outage, short enough that a job does not hold its place for ever. When the time is up the
/// last refusal is thrown as a <see cref="WorkStateException"/>; the item is then left to the
/// <c>WorkReconciler</c>, which finds work whose job is gone and requeues or fails it with a reason.
/// </summary>
public sealed class WorkStateRetry
{
    public const string SecondsKey = "DeepExtension:Work:StateRetrySeconds";
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromMinutes(2);

    private readonly ResiliencePipeline _pipeline;

    public WorkStateRetry(TimeSpan budget)
    {
        Budget = budget;
        _pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(budget)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(10),
                MaxRetryAttempts = int.MaxValue,
            })
            .Build();
    }

    public static WorkStateRetry From(IConfiguration configuration) =>
        new(TimeSpan.FromSeconds(Math.Clamp(configuration.GetValue(SecondsKey, DefaultBudget.TotalSeconds), 0.1, 24 * 3600)));

    /// <summary>How long a refused change is tried again.</summary>
    public TimeSpan Budget { get; }

    /// <summary>Runs <paramref name="change"/> until it succeeds or <see cref="Budget"/> is spent (then the last refusal, as a <see cref="WorkStateException"/>).</summary>
    public async Task<T> ExecuteAsync<T>(string what, Func<CancellationToken, Task<T>> change, CancellationToken cancellationToken = default)
    {
        Exception? last = null;
        var attempts = 0;
        try
        {
            return await _pipeline.ExecuteAsync(async token =>
            {
                attempts++;
                try
                {
                    return await change(token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    last = ex;
                    throw;
                }
            }, cancellationToken);
        }
        catch (TimeoutRejectedException) when (last is not null)
        {
            throw new WorkStateException(what, attempts, Budget, last);
        }
    }

    public Task ExecuteAsync(string what, Func<CancellationToken, Task> change, CancellationToken cancellationToken = default) =>
        ExecuteAsync(what, async token =>
        {
            await change(token);
            return true;
        }, cancellationToken);
}

/// <summary>A state change the database kept refusing for the whole retry budget; the message says what and why.</summary>
public sealed class WorkStateException(string what, int attempts, TimeSpan budget, Exception last)
    : Exception($"{what} could not be recorded ({attempts} attempts in {budget.TotalSeconds:0.#} s): {Innermost(last).Message}", last)
{
    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }
}

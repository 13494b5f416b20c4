namespace DeepExtension.Jobs.Engine.Training;

/// <summary>
/// transformers' learning-rate schedules as multipliers of the base learning rate. <c>step</c> is the number of
/// optimizer steps already taken (LambdaLR's <c>last_epoch</c>): the first update uses step 0, so with warm-up
/// it uses learning rate 0, exactly as transformers' Trainer does.
/// </summary>
public static class LearningRateSchedule
{
    /// <summary><c>get_linear_schedule_with_warmup</c>.</summary>
    public static double Linear(long step, long warmupSteps, long totalSteps)
    {
        if (step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        return Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps));
    }

    /// <summary><c>get_cosine_schedule_with_warmup</c> (num_cycles 0.5 = a half cosine from 1 down to 0).</summary>
    public static double Cosine(long step, long warmupSteps, long totalSteps, double numCycles = 0.5)
    {
        if (step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * numCycles * 2.0 * progress)));
    }

    /// <summary><c>get_constant_schedule_with_warmup</c>.</summary>
    public static double ConstantWithWarmup(long step, long warmupSteps) =>
        step < warmupSteps ? (double)step / Math.Max(1.0, warmupSteps) : 1.0;

    /// <summary>A schedule by transformers' <c>lr_scheduler_type</c> name: linear, cosine, constant, constant_with_warmup.</summary>
    public static Func<long, double> ByName(string name, long warmupSteps, long totalSteps) => name switch
    {
        "linear" => s => Linear(s, warmupSteps, totalSteps),
        "cosine" => s => Cosine(s, warmupSteps, totalSteps),
        "constant" => _ => 1.0,
        "constant_with_warmup" => s => ConstantWithWarmup(s, warmupSteps),
        _ => throw new NotSupportedException($"lr_scheduler_type '{name}' is not supported (linear, cosine, constant, constant_with_warmup)"),
    };

    /// <summary>Warm-up steps as transformers computes them: <c>warmup_steps</c> if positive, else ceil(ratio · total).</summary>
    public static long WarmupSteps(long totalSteps, long warmupSteps, double warmupRatio) =>
        warmupSteps > 0 ? warmupSteps : (long)Math.Ceiling(totalSteps * warmupRatio);
}

namespace DeepExtension.Core.Runs;

/// <summary>When a metric's chart appears: always (every method logs it) or once a point of the run carries it.</summary>
public enum MetricVisibility
{
    Always,
    WhenLogged,
}

/// <summary>
/// One metric the trainer logs. <paramref name="Chart"/> groups metrics drawn together on a run's Evaluation Data tab
/// (null: not charted); on Compare every charted metric has its own overlay chart, <paramref name="CompareChart"/>.
/// </summary>
public sealed record MetricDefinition(
    string Key, string Label, string Unit, string Group, MetricVisibility Show, string? Chart = null, string? CompareChart = null, string? CompareTitle = null)
{
    /// <summary>The name that stands alone (the latest-metrics table), where <see cref="Label"/> is a legend inside its chart.</summary>
    public string Name { get; init; } = Label;
}

/// <summary>A chart of one or more metrics, with when it appears (the first of its metrics that is always shown makes it always shown).</summary>
public sealed record MetricChartDefinition(string Key, string Title, IReadOnlyList<MetricDefinition> Metrics)
{
    public MetricVisibility Show => Metrics.Any(m => m.Show == MetricVisibility.Always) ? MetricVisibility.Always : MetricVisibility.WhenLogged;

    /// <summary>Whether the chart belongs on a page whose runs logged <paramref name="loggedKeys"/>.</summary>
    public bool AppliesTo(IReadOnlySet<string> loggedKeys) => Show == MetricVisibility.Always || Metrics.Any(m => loggedKeys.Contains(m.Key));
}

/// <summary>
/// Every metric the console knows (key, label, unit, group, when it shows, which chart draws it): Evaluation Data and
/// Compare both draw their charts from here. Keys logged by no entry here (a reward function's own "rewards/…") are
/// still kept in metrics.jsonl and the latest-metrics table.
/// </summary>
public static class MetricCatalogue
{
    private const string Training = "Training";
    private const string Evaluation = "Evaluation";
    private const string Dpo = "DPO";
    private const string Grpo = "GRPO";
    private const string Ppo = "PPO";

    public static readonly IReadOnlyList<MetricDefinition> Metrics =
    [
        new(MetricPoint.Keys.Loss, "Training loss", "", Training, MetricVisibility.Always, "loss", "loss", "Training loss"),
        new(MetricPoint.Keys.EvalLoss, "Evaluation loss", "", Evaluation, MetricVisibility.WhenLogged, "loss", "eval-loss", "Evaluation loss"),
        new(MetricPoint.Keys.LearningRate, "Learning rate", "", Training, MetricVisibility.Always, "learning-rate", "learning-rate", "Learning rate"),
        new(MetricPoint.Keys.GradNorm, "Gradient norm", "", Training, MetricVisibility.Always, "grad-norm", "grad-norm", "Gradient norm"),
        new(MetricPoint.Keys.TokensPerSecond, "Tokens/s", "tokens/s", Training, MetricVisibility.Always, "tokens-per-second", "tokens-per-second", "Tokens per second") { Name = "Tokens per second" },
        new(MetricPoint.Keys.EtaSeconds, "Time left", "s", Training, MetricVisibility.Always) { Name = "Time left (ETA)" },
        new("rewards/chosen", "Chosen", "", Dpo, MetricVisibility.WhenLogged, "dpo-rewards", "dpo-chosen", "DPO reward (chosen)") { Name = "Reward, chosen" },
        new("rewards/rejected", "Rejected", "", Dpo, MetricVisibility.WhenLogged, "dpo-rewards", "dpo-rejected", "DPO reward (rejected)") { Name = "Reward, rejected" },
        new("rewards/margins", "Margin", "", Dpo, MetricVisibility.WhenLogged, "dpo-rewards", "dpo-margins", "DPO reward margin") { Name = "Reward margin" },
        new("rewards/accuracies", "Accuracy", "", Dpo, MetricVisibility.WhenLogged, "dpo-accuracy", "dpo-accuracy", "DPO reward accuracy") { Name = "Reward accuracy" },
        new("logps/chosen", "Log-probability (chosen)", "", Dpo, MetricVisibility.WhenLogged),
        new("logps/rejected", "Log-probability (rejected)", "", Dpo, MetricVisibility.WhenLogged),
        new(MetricPoint.Keys.Reward, "Mean reward", "", Grpo, MetricVisibility.WhenLogged, "grpo-reward", "grpo-reward", "GRPO reward"),
        new(MetricPoint.Keys.RewardStd, "Reward std within groups", "", Grpo, MetricVisibility.WhenLogged, "grpo-reward", "grpo-reward-std", "GRPO reward std"),
        new(MetricPoint.Keys.Kl, "KL", "", Grpo, MetricVisibility.WhenLogged, "grpo-kl", "grpo-kl", "GRPO KL") { Name = "KL to the reference" },
        new(MetricPoint.Keys.CompletionLength, "Completion length", "tokens", Grpo, MetricVisibility.WhenLogged, "grpo-completion-length", "grpo-completion-length", "GRPO completion length"),
        new(MetricPoint.Keys.EvalReward, "Evaluation reward", "", Evaluation, MetricVisibility.WhenLogged, "eval-reward", "eval-reward", "Validation reward") { Name = "Mean reward, validation split" },
        new("objective/rlhf_reward", "RLHF reward", "", Ppo, MetricVisibility.WhenLogged, "ppo-reward", "ppo-rlhf-reward", "PPO RLHF reward (score − KL penalty)") { Name = "RLHF reward (score − KL penalty)" },
        new("objective/scores", "Score", "", Ppo, MetricVisibility.WhenLogged, "ppo-reward", "ppo-scores", "PPO score") { Name = "Mean score (reward functions)" },
        new("objective/kl", "KL", "", Ppo, MetricVisibility.WhenLogged, "ppo-kl", "ppo-kl", "PPO KL to the reference") { Name = "KL to the reference (per completion)" },
        new("objective/entropy", "Entropy", "", Ppo, MetricVisibility.WhenLogged, "ppo-entropy", "ppo-entropy", "PPO entropy") { Name = "Entropy (per completion)" },
        new("loss/policy_avg", "Policy loss", "", Ppo, MetricVisibility.WhenLogged, "ppo-losses", "ppo-policy-loss", "PPO policy loss"),
        new("loss/value_avg", "Value loss", "", Ppo, MetricVisibility.WhenLogged, "ppo-losses", "ppo-value-loss", "PPO value loss"),
        new("val/vf_loss", "Value loss (unweighted)", "", Ppo, MetricVisibility.WhenLogged),
        new("policy/clipfrac", "Policy", "", Ppo, MetricVisibility.WhenLogged, "ppo-clipfrac", "ppo-policy-clipfrac", "PPO policy clip fraction") { Name = "Policy clip fraction" },
        new("val/clipfrac", "Value", "", Ppo, MetricVisibility.WhenLogged, "ppo-clipfrac", "ppo-value-clipfrac", "PPO value clip fraction") { Name = "Value clip fraction" },
        new("policy/approxkl", "Approximate KL", "", Ppo, MetricVisibility.WhenLogged, "ppo-approxkl", "ppo-approxkl", "PPO approximate KL (old → new policy)") { Name = "Approximate KL, old to new policy" },
        new(MetricPoint.Keys.GpuMemoryGib, "GPU memory in use", "GiB", Training, MetricVisibility.WhenLogged, "gpu-memory", "gpu-memory", "GPU memory (GiB)"),
    ];

    private static readonly Dictionary<string, string> ChartTitles = new(StringComparer.Ordinal)
    {
        ["loss"] = "Loss",
        ["learning-rate"] = "Learning rate",
        ["grad-norm"] = "Gradient norm",
        ["tokens-per-second"] = "Tokens per second",
        ["dpo-rewards"] = "DPO rewards",
        ["dpo-accuracy"] = "DPO reward accuracy",
        ["grpo-reward"] = "GRPO reward",
        ["grpo-kl"] = "GRPO KL to the reference",
        ["grpo-completion-length"] = "GRPO completion length",
        ["eval-reward"] = "Validation reward",
        ["ppo-reward"] = "PPO reward",
        ["ppo-kl"] = "PPO KL to the reference",
        ["ppo-entropy"] = "PPO entropy",
        ["ppo-losses"] = "PPO losses",
        ["ppo-clipfrac"] = "PPO clip fractions",
        ["ppo-approxkl"] = "PPO approximate KL",
        ["gpu-memory"] = "GPU memory (GiB)",
    };

    /// <summary>The charts of a run's Evaluation Data tab: metrics grouped by <see cref="MetricDefinition.Chart"/>, in catalogue order.</summary>
    public static readonly IReadOnlyList<MetricChartDefinition> EvaluationCharts = Metrics
        .Where(m => m.Chart is not null)
        .GroupBy(m => m.Chart!)
        .Select(g => new MetricChartDefinition(g.Key, ChartTitles[g.Key], g.ToList()))
        .ToList();

    /// <summary>The overlay charts of Compare: one per charted metric.</summary>
    public static readonly IReadOnlyList<MetricChartDefinition> CompareCharts = Metrics
        .Where(m => m.CompareChart is not null)
        .Select(m => new MetricChartDefinition(m.CompareChart!, m.CompareTitle!, [m]))
        .ToList();

    private static readonly Dictionary<string, MetricDefinition> ByKey = Metrics.ToDictionary(m => m.Key, StringComparer.Ordinal);

    public static MetricDefinition? Find(string key) => ByKey.GetValueOrDefault(key);

    /// <summary>Where <paramref name="key"/> stands in the catalogue; keys it does not know come after all of them.</summary>
    public static int OrderOf(string key) => Positions.TryGetValue(key, out var position) ? position : Metrics.Count;

    private static readonly Dictionary<string, int> Positions = Metrics.Select((m, i) => (m.Key, i)).ToDictionary(p => p.Key, p => p.i, StringComparer.Ordinal);
}

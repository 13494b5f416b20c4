namespace DeepExtension.Bench;

/// <summary>
/// Example lengths for the mixed-length rows of lora-sft: log-normal with a median of 400 tokens and a 90th percentile of
/// 1,200 (σ = ln 3 / 1.2816 ≈ 0.857), clipped to [16, max]. Instruction datasets look like this: most examples short,
/// a long tail (Alpaca-style rows run a few hundred tokens, multi-turn chats into the thousands). Drawn once by the
/// parent with a fixed seed and handed to both sides as a file, so both train on the same lengths.
/// </summary>
internal static class MixedLengths
{
    public const double Median = 400, Percentile90 = 1200;
    public static readonly double Sigma = Math.Log(Percentile90 / Median) / 1.2815515655446004;

    public static string Description =>
        $"example lengths log-normal, median {Median:0} and 90th percentile {Percentile90:0} tokens (σ {Sigma:0.000}), clipped to [16, max], seed 7";

    /// <summary><paramref name="steps"/> batches of <paramref name="batch"/> lengths.</summary>
    public static int[][] Draw(int steps, int batch, int max, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        // The median scales with max for small harness checks (max below the median).
        var median = Math.Min(Median, max / 3.0);
        return Enumerable.Range(0, steps)
            .Select(_ => Enumerable.Range(0, batch).Select(_ => (int)Math.Clamp(Math.Round(median * Math.Exp(Sigma * Normal())), 16, max)).ToArray())
            .ToArray();
    }
}

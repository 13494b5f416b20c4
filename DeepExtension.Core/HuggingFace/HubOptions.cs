namespace DeepExtension.Core.HuggingFace;

/// <summary>The "DeepExtension:HuggingFace" configuration section: where the Hub is and how downloads behave.</summary>
public sealed class HubOptions
{
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The Hub, or a mirror or proxy that speaks its protocol (what HF_ENDPOINT is to huggingface_hub).</summary>
    public string Endpoint { get; set; } = DefaultEndpoint;

    /// <summary>Files fetched at the same time by one download.</summary>
    public int ParallelFiles { get; set; } = 3;

    /// <summary>Tries per request before a rate limit, a server error or a dropped connection fails the download.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The first wait before a retry; it doubles each time (a Retry-After header wins).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

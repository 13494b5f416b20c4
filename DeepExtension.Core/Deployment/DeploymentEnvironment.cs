namespace DeepExtension.Core.Deployment;

/// <summary>An Ollama server that models can be deployed to.</summary>
public sealed class DeploymentEnvironment
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string NameKey { get; set; } = "";
    /// <summary>The Ollama base URL, e.g. http://localhost:11434.</summary>
    public required string BaseUrl { get; set; }
    /// <summary>Pre-selected on deploy forms. At most one environment is the default.</summary>
    public bool IsDefault { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    public DateTime UpdatedAtUtc { get; set; }
}

/// <summary>What the Deployment Tool Configuration form submits.</summary>
public sealed record DeploymentEnvironmentInput(string Name, string BaseUrl, bool IsDefault);

/// <summary>The answer of a "Test connection".</summary>
public sealed record ConnectionTestResult(bool Reachable, string? Version, string? Error);

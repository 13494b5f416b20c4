using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using Microsoft.EntityFrameworkCore;
using OllamaSharp;

namespace DeepExtension.Core.Deployment;

/// <summary>Manages the Ollama servers models can be deployed to.</summary>
public sealed class DeploymentEnvironmentService(
    IDbContextFactory<DeepExtensionDbContext> dbFactory, IHttpClientFactory httpClients, OllamaEndpoint endpoint, TimeProvider clock,
    ICurrentUser? currentUser = null, Microsoft.Extensions.Logging.ILogger<DeploymentEnvironmentService>? logger = null)
{
    /// <summary>
    /// What anyone but an Admin hears when a connection test fails, whatever the reason: different answers for a refused
    /// port, a 404, a non-Ollama server and a timeout would let the console be used to map internal hosts.
    /// </summary>
    public const string UniformFailure = "Ollama did not answer at this address.";

    public const string NameField = nameof(DeploymentEnvironmentInput.Name);
    public const string BaseUrlField = nameof(DeploymentEnvironmentInput.BaseUrl);
    public const string HttpClientName = "ollama";

    /// <summary>The environments with their URLs masked (<see cref="OllamaEndpoint.Mask"/>): what every page and the API show.</summary>
    public async Task<IReadOnlyList<DeploymentEnvironment>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environments = await db.DeploymentEnvironments.AsNoTracking()
            .OrderByDescending(e => e.IsDefault).ThenBy(e => e.NameKey)
            .ToListAsync(cancellationToken);
        foreach (var environment in environments) environment.BaseUrl = OllamaEndpoint.Mask(environment.BaseUrl);
        return environments;
    }

    /// <summary>
    /// The environment's URL as stored, credentials protected (a row of an earlier version is protected on the way):
    /// for the HTTP client and a deployment's copy only, never for display. Null when the environment is gone.
    /// </summary>
    public async Task<string?> StoredUrlAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var stored = await db.DeploymentEnvironments.AsNoTracking().Where(e => e.Id == id).Select(e => e.BaseUrl).FirstOrDefaultAsync(cancellationToken);
        return stored is null ? null : endpoint.Protect(stored);
    }

    /// <summary>
    /// Encrypts the credentials of URLs stored in plain text by earlier versions (environments and deployments);
    /// run at start-up, after the migrations. Returns how many rows changed.
    /// </summary>
    public async Task<int> ProtectStoredCredentialsAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var changed = 0;
        foreach (var environment in await db.DeploymentEnvironments.Where(e => e.BaseUrl.Contains("@")).ToListAsync(cancellationToken))
        {
            if (!OllamaEndpoint.HasPlainCredentials(environment.BaseUrl)) continue;
            environment.BaseUrl = endpoint.Protect(environment.BaseUrl);
            changed++;
        }
        foreach (var deployment in await db.ModelDeployments.Where(d => d.BaseUrl.Contains("@")).ToListAsync(cancellationToken))
        {
            if (!OllamaEndpoint.HasPlainCredentials(deployment.BaseUrl)) continue;
            deployment.BaseUrl = endpoint.Protect(deployment.BaseUrl);
            changed++;
        }
        await db.SaveChangesAsync(cancellationToken);
        return changed;
    }

    private readonly ICurrentUser _user = currentUser ?? SystemUser.Instance;

    public async Task<OperationResult<DeploymentEnvironment>> CreateAsync(DeploymentEnvironmentInput input, CancellationToken cancellationToken = default)
    {
        if (_user.DenyAdmin() is { } denied) return OperationResult<DeploymentEnvironment>.Failure(OperationResult<DeploymentEnvironment>.General, denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var (errors, url) = await ValidateAsync(db, input, null, null, cancellationToken);
        if (errors.Any) return OperationResult<DeploymentEnvironment>.Failure(errors);

        var now = clock.GetUtcNow().UtcDateTime;
        var isFirst = !await db.DeploymentEnvironments.AnyAsync(cancellationToken);
        var environment = new DeploymentEnvironment
        {
            Id = Guid.CreateVersion7(),
            Name = input.Name.Trim(),
            NameKey = KeyOf(input.Name),
            BaseUrl = endpoint.Protect(url!),
            IsDefault = input.IsDefault || isFirst,
            CreatedAtUtc = now,
            UpdatedAtUtc = now,
        };
        if (environment.IsDefault) await ClearDefaultAsync(db, cancellationToken);
        db.DeploymentEnvironments.Add(environment);
        AuditTrail.Add(db, _user, clock, AuditActions.Created, AuditObjects.Environment, environment.Id, environment.Name);
        return await SaveMaskedAsync(db, environment, cancellationToken);
    }

    public async Task<OperationResult<DeploymentEnvironment>> UpdateAsync(Guid id, DeploymentEnvironmentInput input, CancellationToken cancellationToken = default)
    {
        if (_user.DenyAdmin() is { } denied) return OperationResult<DeploymentEnvironment>.Failure(OperationResult<DeploymentEnvironment>.General, denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environment = await db.DeploymentEnvironments.FirstOrDefaultAsync(e => e.Id == id, cancellationToken);
        if (environment is null)
        {
            return OperationResult<DeploymentEnvironment>.Failure(OperationResult<DeploymentEnvironment>.General, "This environment no longer exists.");
        }
        var (errors, url) = await ValidateAsync(db, input, id, environment.BaseUrl, cancellationToken);
        if (errors.Any) return OperationResult<DeploymentEnvironment>.Failure(errors);

        environment.Name = input.Name.Trim();
        environment.NameKey = KeyOf(input.Name);
        environment.BaseUrl = endpoint.Protect(url!);
        if (input.IsDefault && !environment.IsDefault)
        {
            await ClearDefaultAsync(db, cancellationToken);
            environment.IsDefault = true;
        }
        environment.UpdatedAtUtc = clock.GetUtcNow().UtcDateTime;
        AuditTrail.Add(db, _user, clock, AuditActions.Changed, AuditObjects.Environment, environment.Id, environment.Name);
        return await SaveMaskedAsync(db, environment, cancellationToken);
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        // Only Admins see the page that calls this; anyone else reaching it is refused outright.
        if (_user.DenyAdmin() is { } denied) throw new UnauthorizedAccessException(denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environment = await db.DeploymentEnvironments.FirstOrDefaultAsync(e => e.Id == id, cancellationToken);
        if (environment is null) return false;
        db.DeploymentEnvironments.Remove(environment);
        AuditTrail.Add(db, _user, clock, AuditActions.Deleted, AuditObjects.Environment, environment.Id, environment.Name);
        if (environment.IsDefault)
        {
            // Keep a default while any environment remains, so deploy forms always have a preselection.
            var next = await db.DeploymentEnvironments.Where(e => e.Id != id).OrderBy(e => e.CreatedAtUtc).FirstOrDefaultAsync(cancellationToken);
            if (next is not null) next.IsDefault = true;
        }
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Asks the server for its version through OllamaSharp; never throws for network problems.</summary>
    public Task<ConnectionTestResult> TestConnectionAsync(string baseUrl, CancellationToken cancellationToken = default) =>
        TestConnectionAsync(baseUrl, null, cancellationToken);

    /// <summary>
    /// The same for a URL shown masked (the edit form, the environments table): the credentials are the stored ones of
    /// <paramref name="environmentId"/>.
    /// </summary>
    public async Task<ConnectionTestResult> TestConnectionAsync(string baseUrl, Guid? environmentId, CancellationToken cancellationToken = default)
    {
        if (environmentId is { } id && OllamaEndpoint.IsMasked(baseUrl ?? ""))
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var stored = await db.DeploymentEnvironments.AsNoTracking().Where(e => e.Id == id).Select(e => e.BaseUrl).FirstOrDefaultAsync(cancellationToken);
            baseUrl = OllamaEndpoint.KeepCredentials(baseUrl!, stored);
        }
        var result = await ProbeAsync(baseUrl ?? "", cancellationToken);
        if (result.Reachable || result.Version is not null || _user.IsAdmin()) return result;
        // The details go to the server log, for Admins to read.
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger ?? (Microsoft.Extensions.Logging.ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            "Connection test for {User}: {Error}", _user.Name, result.Error);
        return result with { Error = UniformFailure };
    }

    private async Task<ConnectionTestResult> ProbeAsync(string baseUrl, CancellationToken cancellationToken)
    {
        var (url, error) = NormalizeUrl(baseUrl);
        if (error is not null) return new ConnectionTestResult(false, null, error);

        using var http = httpClients.CreateClient(HttpClientName);
        endpoint.Configure(http, url!);
        url = OllamaEndpoint.Mask(url!);
        using var client = new OllamaApiClient(http);
        try
        {
            var version = await client.GetVersionAsync(cancellationToken);
            return new ConnectionTestResult(true, version, null);
        }
        catch (HttpRequestException ex)
        {
            var reason = ex.StatusCode is { } status ? $"the server answered {(int)status} {status}" : ex.Message;
            return new ConnectionTestResult(false, null, $"Could not reach Ollama at {url}: {reason}.");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ConnectionTestResult(false, null, $"Ollama at {url} did not answer in time.");
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            return new ConnectionTestResult(false, null, $"The server at {url} did not answer like Ollama: {ex.Message}");
        }
    }

    /// <summary>
    /// The HttpClient base address for OllamaSharp: the trailing slash keeps a path prefix (an Ollama behind a reverse
    /// proxy) when OllamaSharp appends "api/...".
    /// </summary>
    public static Uri BaseAddressOf(string baseUrl) => new(baseUrl.TrimEnd('/') + "/");

    public static (string? Url, string? Error) NormalizeUrl(string? input)
    {
        var text = input?.Trim() ?? "";
        if (text.Length == 0) return (null, "The Ollama base URL is required.");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return (null, "Enter an absolute http:// or https:// URL, e.g. http://localhost:11434.");
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return (null, "The base URL may not carry a query or fragment.");
        }
        return (uri.GetLeftPart(UriPartial.Path).TrimEnd('/'), null);
    }

    private static string KeyOf(string name) => name.Trim().ToUpperInvariant();

    private static async Task<(ValidationErrors, string?)> ValidateAsync(
        DeepExtensionDbContext db, DeploymentEnvironmentInput input, Guid? existingId, string? storedUrl, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var name = input.Name?.Trim() ?? "";
        if (name.Length == 0)
        {
            errors.Add(NameField, "The name is required.");
        }
        else if (name.Length > 100)
        {
            errors.Add(NameField, "The name must be at most 100 characters.");
        }
        else
        {
            var key = KeyOf(name);
            if (await db.DeploymentEnvironments.AnyAsync(e => e.NameKey == key && e.Id != existingId, cancellationToken))
            {
                errors.Add(NameField, $"An environment named \"{name}\" already exists.");
            }
        }
        var (url, urlError) = NormalizeUrl(input.BaseUrl);
        if (urlError is not null) errors.Add(BaseUrlField, urlError);
        // The edit form shows the stored URL masked; submitted back as it is, it keeps the stored credentials.
        return (errors, url is null ? null : OllamaEndpoint.KeepCredentials(url, storedUrl));
    }

    /// <summary>Tracked, not executed: the change lands in the same SaveChanges (one transaction) as the new default.</summary>
    private static async Task ClearDefaultAsync(DeepExtensionDbContext db, CancellationToken cancellationToken)
    {
        foreach (var current in await db.DeploymentEnvironments.Where(e => e.IsDefault).ToListAsync(cancellationToken))
        {
            current.IsDefault = false;
        }
    }

    /// <summary>Saves, then hands the caller the environment with its URL masked, like <see cref="ListAsync"/>.</summary>
    private static async Task<OperationResult<DeploymentEnvironment>> SaveMaskedAsync(
        DeepExtensionDbContext db, DeploymentEnvironment environment, CancellationToken cancellationToken)
    {
        var result = await SaveAsync(db, environment, cancellationToken);
        if (result.Succeeded) environment.BaseUrl = OllamaEndpoint.Mask(environment.BaseUrl);
        return result;
    }

    private static async Task<OperationResult<DeploymentEnvironment>> SaveAsync(
        DeepExtensionDbContext db, DeploymentEnvironment environment, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return OperationResult<DeploymentEnvironment>.Success(environment);
        }
        catch (DbUpdateException ex) when (!DatabaseErrors.IsDuplicate(ex))
        {
            return OperationResult<DeploymentEnvironment>.Failure(OperationResult<DeploymentEnvironment>.General, DatabaseErrors.Refused(ex));
        }
        catch (DbUpdateException)
        {
            return OperationResult<DeploymentEnvironment>.Failure(OperationResult<DeploymentEnvironment>.General,
                "Another environment with the same name was saved at the same time. Nothing was saved; try again.");
        }
    }
}

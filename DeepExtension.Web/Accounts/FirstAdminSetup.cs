using System.Security.Cryptography;
using System.Text;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Data;
using DeepExtension.Core.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeepExtension.Web.Accounts;

/// <summary>
/// The first Admin. While no user exists, a random one-time token (held in memory, its link written to the log and
/// to <see cref="LinkFileName"/> under the data root) is the only way to create one; or, for unattended installs,
/// <see cref="SetupOptions"/> creates it at start-up.
/// </summary>
public sealed class FirstAdminSetup(
    IServiceScopeFactory scopes,
    IDbContextFactory<DeepExtensionDbContext> dbFactory,
    IOptions<SetupOptions> options,
    DataDirectories directories,
    IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<FirstAdminSetup> logger)
{
    public const string LinkFileName = "setup-link.txt";
    public const string SetupPath = "/account/setup";

    private readonly Lock _gate = new();
    private byte[]? _tokenHash;

    /// <summary>True while a setup link is valid (no user yet, nothing configured).</summary>
    public bool IsOpen
    {
        get { lock (_gate) return _tokenHash is not null; }
    }

    public string LinkFile => Path.Combine(directories.Root, LinkFileName);

    /// <summary>Creates the roles, then the first Admin from configuration, or opens the setup link. Call before the host starts.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var roleManager = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        foreach (var role in Roles.All)
        {
            if (!await roleManager.RoleExistsAsync(role))
            {
                Check(await roleManager.CreateAsync(new IdentityRole(role)), $"create the role {role}");
            }
        }

        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        if (users.Users.Any())
        {
            DeleteLinkFile();
            return;
        }

        var configured = options.Value;
        if (!string.IsNullOrWhiteSpace(configured.AdminEmail) && !string.IsNullOrEmpty(configured.AdminPassword))
        {
            Check(await CreateAdminAsync(users, configured.AdminEmail.Trim(), configured.AdminPassword), "create the configured first Admin");
            logger.LogInformation("Created the first Admin {Email} from DeepExtension:Setup.", configured.AdminEmail.Trim());
            DeleteLinkFile();
            return;
        }

        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        lock (_gate) _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        // The address is known once Kestrel listens.
        lifetime.ApplicationStarted.Register(() => AnnounceLink(token));
    }

    /// <summary>
    /// Creates the first Admin if <paramref name="token"/> is the valid setup token and no user exists yet. The token
    /// is claimed in the database first (<see cref="SetupClaim"/>), so of simultaneous requests exactly one goes on.
    /// </summary>
    public async Task<IdentityResult> CompleteAsync(string? token, string email, string password, UserManager<ApplicationUser> users)
    {
        if (!IsValid(token)) return Failed(NotValidMessage);
        if (users.Users.Any())
        {
            Close();
            return Failed(AdminExistsMessage);
        }
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token!)));
        if (!await ClaimAsync(hash)) return Failed(NotValidMessage);
        IdentityResult result;
        try
        {
            result = users.Users.Any() ? Failed(AdminExistsMessage) : await CreateAdminAsync(users, email.Trim(), password);
        }
        catch
        {
            await ReleaseAsync(hash);
            throw;
        }
        if (result.Succeeded) Close();
        // Bad input (a weak password, say) loses nothing: the link works again.
        else await ReleaseAsync(hash);
        return result;
    }

    private const string NotValidMessage = "This setup link is not valid (any more).";
    private const string AdminExistsMessage = "The first Admin exists already: sign in.";

    private static IdentityResult Failed(string message) => IdentityResult.Failed(new IdentityError { Description = message });

    /// <summary>Inserts the token's claim; false when another request (or console) claimed it first.</summary>
    private async Task<bool> ClaimAsync(string hash)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        db.SetupClaims.Add(new SetupClaim { TokenHash = hash, ClaimedAtUtc = DateTime.UtcNow });
        try
        {
            await db.SaveChangesAsync();
            return true;
        }
        catch (DbUpdateException ex) when (DatabaseErrors.IsDuplicate(ex))
        {
            return false;
        }
    }

    private async Task ReleaseAsync(string hash)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        await db.SetupClaims.Where(c => c.TokenHash == hash).ExecuteDeleteAsync();
    }

    public bool IsValid(string? token)
    {
        if (string.IsNullOrEmpty(token)) return false;
        lock (_gate)
        {
            return _tokenHash is not null
                && CryptographicOperations.FixedTimeEquals(_tokenHash, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        }
    }

    private static async Task<IdentityResult> CreateAdminAsync(UserManager<ApplicationUser> users, string email, string password)
    {
        var user = new ApplicationUser(email) { EmailConfirmed = true };
        var created = await users.CreateAsync(user, password);
        return created.Succeeded ? await users.AddToRoleAsync(user, Roles.Admin) : created;
    }

    private void Close()
    {
        lock (_gate) _tokenHash = null;
        DeleteLinkFile();
    }

    private void AnnounceLink(string token)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost:5080";
        var link = $"{address.TrimEnd('/')}{SetupPath}?token={token}";
        try
        {
            Directory.CreateDirectory(directories.Root);
            // The link is a credential: readable by the console's own user only (created so, never 644 for a moment).
            File.Delete(LinkFile);
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var file = new FileStream(LinkFile, create);
            using var writer = new StreamWriter(file);
            writer.Write(link + Environment.NewLine);
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Could not write the setup link to {File}.", LinkFile);
        }
        logger.LogWarning("No user exists yet. Create the first Admin with this one-time link: {SetupLink} (also written to {File}).", link, LinkFile);
    }

    private void DeleteLinkFile()
    {
        try
        {
            File.Delete(LinkFile);
        }
        catch (IOException)
        {
            // A stale file holds a token that no longer opens anything.
        }
    }

    private static void Check(IdentityResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Could not {what}: {string.Join(" ", result.Errors.Select(e => e.Description))}");
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace DeepExtension.Web.Nodes;

/// <summary>
/// Where worker nodes send their runs' metric and log lines (see <see cref="NodeFeed"/>): each call puts the lines into
/// the console's <see cref="LiveRunStore"/>, the one the pages read, and answers with the position it holds.
/// </summary>
public sealed class NodeFeedHub(LiveRunStore live, DataDirectories directories) : Hub
{
    public NodeLinesAck Append(NodeLines lines)
    {
        var files = new RunFiles(Path.Combine(directories.Root, DataDirectories.RelativeRunFolder(lines.RunId)));
        return live.Append(files, lines.File, lines.Offset, lines.Restart, lines.Lines);
    }
}

public static class NodeFeedEndpoints
{
    /// <summary>The authentication scheme of worker nodes: the node key in <see cref="NodeFeed.KeyHeader"/>.</summary>
    public const string NodeKeyScheme = "NodeKey";

    private const string NodePolicy = "WorkerNode";

    public static IHostApplicationBuilder AddNodeFeed(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSignalR().AddHubOptions<NodeFeedHub>(o => o.MaximumReceiveMessageSize = NodeFeed.MaxMessageBytes);
        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, NodeKeyHandler>(NodeKeyScheme, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(NodePolicy, policy => policy.AddAuthenticationSchemes(NodeKeyScheme).RequireAuthenticatedUser());
        return builder;
    }

    /// <summary>
    /// The hub at <see cref="NodeFeed.HubPath"/>, open only to requests that carry the configured node key (401
    /// otherwise, and for everyone while the console has no key). Not a user's endpoint: a signed-in user without the
    /// key is refused too.
    /// </summary>
    public static WebApplication MapNodeFeed(this WebApplication app)
    {
        if (app.Configuration[NodeFeed.KeyKey] is not { Length: > 0 })
        {
            app.Logger.LogInformation("No node key is configured ({Key}): worker nodes cannot send live data to this console", NodeFeed.KeyKey);
        }
        app.MapHub<NodeFeedHub>(NodeFeed.HubPath).RequireAuthorization(NodePolicy);
        return app;
    }

    /// <summary>Authenticates a worker node by the key it presents; no key configured on the console authenticates no one.</summary>
    private sealed class NodeKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IConfiguration configuration)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers[NodeFeed.KeyHeader].ToString() is not { Length: > 0 } presented) return Task.FromResult(AuthenticateResult.NoResult());
            if (configuration[NodeFeed.KeyKey] is not { Length: > 0 } key)
            {
                return Task.FromResult(AuthenticateResult.Fail($"This console accepts no worker nodes: {NodeFeed.KeyKey} is not set."));
            }
            // Hashes of equal length, compared in constant time: the comparison tells nothing about the key.
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(key))))
            {
                return Task.FromResult(AuthenticateResult.Fail("Wrong node key."));
            }
            var node = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "worker node")], NodeKeyScheme));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(node, NodeKeyScheme)));
        }
    }
}

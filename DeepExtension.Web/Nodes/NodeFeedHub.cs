using System.Security.Cryptography;
using System.Text;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using Microsoft.AspNetCore.SignalR;

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
    public static IHostApplicationBuilder AddNodeFeed(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSignalR().AddHubOptions<NodeFeedHub>(o => o.MaximumReceiveMessageSize = NodeFeed.MaxMessageBytes);
        return builder;
    }

    /// <summary>
    /// The hub at <see cref="NodeFeed.HubPath"/>, open only to requests that carry the configured node key in
    /// <see cref="NodeFeed.KeyHeader"/> (401 otherwise; 403 for everyone while the console has no key configured). Not a
    /// user's endpoint: no sign-in, no cookie, so no cross-site use.
    /// </summary>
    public static WebApplication MapNodeFeed(this WebApplication app)
    {
        var configured = app.Configuration[NodeFeed.KeyKey] is { Length: > 0 } key ? SHA256.HashData(Encoding.UTF8.GetBytes(key)) : null;
        if (configured is null)
        {
            app.Logger.LogInformation("No node key is configured ({Key}): worker nodes cannot send live data to this console", NodeFeed.KeyKey);
        }
        app.UseWhen(context => context.Request.Path.StartsWithSegments(NodeFeed.HubPath), branch => branch.Use(async (context, next) =>
        {
            if (configured is null)
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsync($"This console accepts no worker nodes: {NodeFeed.KeyKey} is not set.");
                return;
            }
            var presented = context.Request.Headers[NodeFeed.KeyHeader].ToString();
            // Hashes of equal length, compared in constant time: the comparison tells nothing about the key.
            if (presented.Length == 0 || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), configured))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsync("Wrong or missing node key.");
                return;
            }
            await next();
        }));
        app.MapHub<NodeFeedHub>(NodeFeed.HubPath).AllowAnonymous();
        return app;
    }
}

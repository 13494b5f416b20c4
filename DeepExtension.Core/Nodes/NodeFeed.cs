using DeepExtension.Core.Runs;

namespace DeepExtension.Core.Nodes;

/// <summary>
/// The live feed from worker nodes to the console: a node sends the lines its runs append to their metrics and log
/// files, as the files' own bytes with the byte position they start at, over SignalR to the console's hub at
/// <see cref="HubPath"/>; the console puts them into its <see cref="LiveRunStore"/> (parsed by the same reader as the
/// files) and answers with the position it holds, which is where the node's next lines start. Positions in the one
/// shared file make a resend after a dropped connection (or a line the console already read from the file) land
/// exactly once.
/// </summary>
public static class NodeFeed
{
    public const string HubPath = "/hubs/nodes";

    /// <summary>The hub method a node calls with <see cref="NodeLines"/>; it returns a <see cref="NodeLinesAck"/>.</summary>
    public const string AppendMethod = "Append";

    /// <summary>The request header that carries the node key.</summary>
    public const string KeyHeader = "X-DeepExtension-Node-Key";

    /// <summary>The secret a node presents to the console's hub; the same value on the console and on every node.</summary>
    public const string KeyKey = DeepExtensionOptions.SectionName + ":Nodes:Key";

    /// <summary>The console's address as a node reaches it (e.g. http://console:8080); set on a node, it sends its runs' lines there.</summary>
    public const string ConsoleUrlKey = DeepExtensionOptions.SectionName + ":Nodes:ConsoleUrl";

    /// <summary>
    /// Seconds a run fed by a node goes without its files being read by the console (default 5): the node's lines are
    /// the fresher source, and the files (on a network mount whose attributes lag) are the fallback when they stop.
    /// </summary>
    public const string FileFallbackSecondsKey = DeepExtensionOptions.SectionName + ":Nodes:FileFallbackSeconds";

    /// <summary>The most bytes of lines one message carries (the hub accepts messages of up to <see cref="MaxMessageBytes"/>).</summary>
    public const int MaxChunkBytes = 256 * 1024;

    /// <summary>Room for <see cref="MaxChunkBytes"/> base64-encoded in JSON, with the other fields.</summary>
    public const long MaxMessageBytes = 1024 * 1024;
}

/// <summary>
/// Lines of one of a run's files: <paramref name="Lines"/> are the file's bytes from <paramref name="Offset"/> on, whole
/// lines only. <paramref name="Restart"/>: the file was replaced (a resume rewrote it), so whatever the console holds
/// of it is dropped and these lines start at 0.
/// </summary>
public sealed record NodeLines(Guid RunId, RunFileKind File, long Offset, bool Restart, byte[] Lines);

/// <summary>
/// The console's answer: <paramref name="Position"/> is the byte position it holds in the file now (the node's next
/// lines start there: beyond what was sent when the console read ahead from the file, before it when there was a gap)
/// and <paramref name="LastStep"/> the step of its last metric point (null for a log or before any point).
/// </summary>
public sealed record NodeLinesAck(long Position, long? LastStep);

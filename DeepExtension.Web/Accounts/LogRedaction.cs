using System.Text.RegularExpressions;

namespace DeepExtension.Web.Accounts;

/// <summary>
/// What a Viewer's log download leaves out: the server's absolute paths (they map its disks) and stack frames (they
/// map its code). Admins and Members, who run the work, get the log as written.
/// </summary>
public static partial class LogRedaction
{
    public const string PathPlaceholder = "[path]";

    /// <summary>The message without absolute paths and stack frames; null when nothing of it is left to show.</summary>
    public static string? ForViewer(string message)
    {
        var lines = message.Split('\n')
            .Where(line => !StackFrame().IsMatch(line))
            .Select(line => AbsolutePath().Replace(line, PathPlaceholder))
            .ToList();
        return lines.Count == 0 ? null : string.Join('\n', lines);
    }

    [GeneratedRegex(@"^\s*at\s+\S+.*(\(|\bin\b|\))", RegexOptions.CultureInvariant)]
    private static partial Regex StackFrame();

    // Unix paths with at least two segments and Windows drive paths.
    [GeneratedRegex(@"(?<![\w.:/])(/[\w.\-@+]+){2,}/?|\b[A-Za-z]:\\[^\s""']+", RegexOptions.CultureInvariant)]
    private static partial Regex AbsolutePath();
}

using System.Text;
using System.Text.RegularExpressions;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Docs;

/// <summary>
/// Every relative link and image in the README, the pages under docs/ and the other READMEs points at a file or
/// folder that exists, and a link to a heading (<c>page.md#heading</c>, <c>#heading</c>) at a heading of that page.
/// </summary>
public sealed partial class DocumentationLinkTests
{
    [GeneratedRegex(@"^(```|~~~).*?^\1[ \t]*$", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    // [text](target) and ![alt](target "title"); the text may hold inline code, not brackets.
    [GeneratedRegex(@"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    public static TheoryData<string> Pages
    {
        get
        {
            var root = RepositoryFiles.Root;
            var pages = new TheoryData<string>();
            pages.Add("README.md");
            foreach (var page in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                pages.Add(Path.GetRelativePath(root, page).Replace('\\', '/'));
            foreach (var readme in Readmes(root, root).Where(p => p != "README.md").Order(StringComparer.Ordinal))
                pages.Add(readme);
            return pages;
        }
    }

    /// <summary>README.md files below <paramref name="dir"/>, leaving out build output, packages and hidden folders.</summary>
    private static IEnumerable<string> Readmes(string root, string dir)
    {
        if (File.Exists(Path.Combine(dir, "README.md"))) yield return Path.GetRelativePath(root, Path.Combine(dir, "README.md")).Replace('\\', '/');
        foreach (var child in Directory.EnumerateDirectories(dir))
        {
            if (Path.GetFileName(child) is "bin" or "obj" or "node_modules" or "docs" || Path.GetFileName(child).StartsWith('.')) continue;
            foreach (var readme in Readmes(root, child)) yield return readme;
        }
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryRelativeLink_PointsAtSomethingThatExists(string page)
    {
        var path = RepositoryFiles.PathOf(page);
        var broken = new List<string>();
        foreach (var target in RelativeLinks(File.ReadAllText(path)))
        {
            var (file, anchor) = target.IndexOf('#') is var hash and >= 0 ? (target[..hash], target[(hash + 1)..]) : (target, null);
            var resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{target}: {Path.GetRelativePath(RepositoryFiles.Root, resolved)} does not exist");
            }
            else if (anchor is { Length: > 0 } && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(File.ReadAllText(resolved)).Contains(anchor))
            {
                broken.Add($"{target}: no heading #{anchor} in {Path.GetRelativePath(RepositoryFiles.Root, resolved)}");
            }
        }
        Assert.True(broken.Count == 0, $"{page} has broken links:\n" + string.Join('\n', broken));
    }

    [Fact]
    public void RelativeLinks_LeaveOutCodeAndAbsoluteAddresses()
    {
        var links = RelativeLinks("""
            See [a](docs/a.md#part), ![b](docs/screenshots/b.png "B") and [c](https://example.com) or [d](#here).
            `[not](a-link.md)`
            ```bash
            echo "[not](one-either.md)"
            ```
            """);
        Assert.Equal(new[] { "docs/a.md#part", "docs/screenshots/b.png", "#here" }, links);
    }

    [Fact]
    public void Anchors_AreGitHubsHeadingSlugs()
    {
        var anchors = Anchors("# Quick start: from `git clone` to a deployed fine-tune\n## Live data\n## Live data\n```\n# not a heading\n```\n");
        Assert.Equal(new[] { "live-data", "live-data-1", "quick-start-from-git-clone-to-a-deployed-fine-tune" }, anchors.Order(StringComparer.Ordinal));
    }

    private static List<string> RelativeLinks(string markdown)
    {
        var prose = InlineCode().Replace(FencedBlock().Replace(markdown, ""), "");
        return Link().Matches(prose)
            .Select(m => m.Groups[1].Value)
            .Where(t => !Regex.IsMatch(t, "^[a-zA-Z][a-zA-Z0-9+.-]*:"))
            .ToList();
    }

    /// <summary>The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(FencedBlock().Replace(markdown, "")))
        {
            var text = heading.Groups[1].Value.Replace("`", "", StringComparison.Ordinal).ToLowerInvariant();
            var slug = new StringBuilder();
            foreach (var c in text)
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
                else if (c == ' ') slug.Append('-');
            }
            var anchor = slug.ToString();
            for (var n = 1; !anchors.Add(anchor); n++) anchor = $"{slug}-{n}";
        }
        return anchors;
    }
}

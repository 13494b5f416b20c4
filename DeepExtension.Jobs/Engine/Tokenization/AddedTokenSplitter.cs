namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>A piece of input at <paramref name="Start"/>: either plain text for BPE or one occurrence of an
/// added token (whose piece may include the whitespace its lstrip/rstrip swallowed).</summary>
internal readonly record struct TextSegment(string Text, AddedToken? Token, int Start, int End);

/// <summary>
/// Cuts added tokens out of the input before BPE, as Hugging Face does: at each position the longest
/// added token that matches exactly wins, so "&lt;|im_start|&gt;" is never split into characters.
/// </summary>
internal sealed class AddedTokenSplitter(IEnumerable<AddedToken> tokens)
{
    // Candidates by first character, longest first so that a token that is a prefix of another never shadows it.
    private readonly Dictionary<char, AddedToken[]> _byFirstChar = tokens
        .Where(t => t.Content.Length > 0)
        .GroupBy(t => t.Content[0])
        .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());

    public IEnumerable<TextSegment> Split(string text)
    {
        var plainStart = 0;
        var position = 0;
        while (position < text.Length)
        {
            var match = MatchAt(text, position);
            if (match is null)
            {
                position++;
                continue;
            }

            var start = position;
            var end = position + match.Content.Length;
            if (match.LeftStrip) while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (match.RightStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;

            if (start > plainStart) yield return new TextSegment(text[plainStart..start], null, plainStart, start);
            yield return new TextSegment(match.Content, match, start, end);
            plainStart = position = end;
        }
        if (plainStart < text.Length) yield return new TextSegment(text[plainStart..], null, plainStart, text.Length);
    }

    private AddedToken? MatchAt(string text, int position)
    {
        if (!_byFirstChar.TryGetValue(text[position], out var candidates)) return null;
        foreach (var token in candidates)
        {
            if (string.CompareOrdinal(text, position, token.Content, 0, token.Content.Length) != 0) continue;
            if (token.SingleWord && !StandsAlone(text, position, position + token.Content.Length)) continue;
            return token;
        }
        return null;
    }

    private static bool StandsAlone(string text, int start, int end) =>
        (start == 0 || !IsWordChar(text[start - 1])) && (end == text.Length || !IsWordChar(text[end]));

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}

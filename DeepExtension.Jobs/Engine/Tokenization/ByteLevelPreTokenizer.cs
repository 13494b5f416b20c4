using System.Text.Json;
using System.Text.RegularExpressions;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// The pre-tokenization of byte-level BPE tokenizers, read from tokenizer.json's "pre_tokenizer": either
/// <c>ByteLevel</c> with <c>use_regex: true</c> (GPT-2's regex) or a <c>Sequence</c> of <c>Split</c>
/// (the model's own regex, as Qwen2 and Llama-3 ship) followed by <c>ByteLevel</c> with <c>use_regex: false</c>.
/// </summary>
internal sealed class ByteLevelPreTokenizer
{
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    private static readonly Regex Gpt2Regex = Compile(Gpt2Pattern);

    // Each step turns one word into several, in the file's order (a prefix space applies per word, as in HF).
    private readonly IReadOnlyList<Func<string, IEnumerable<string>>> _steps;

    private ByteLevelPreTokenizer(IReadOnlyList<Func<string, IEnumerable<string>>> steps) => _steps = steps;

    public static ByteLevelPreTokenizer FromJson(JsonElement preTokenizer)
    {
        if (preTokenizer.ValueKind != JsonValueKind.Object)
            throw new UnsupportedTokenizerException(
                "The tokenizer has no pre-tokenizer: only byte-level BPE tokenizers (ByteLevel pre-tokenizer) are supported.");
        var steps = new List<Func<string, IEnumerable<string>>>();
        var hasByteLevel = false;
        foreach (var step in Steps(preTokenizer))
        {
            var type = step.GetProperty("type").GetString();
            switch (type)
            {
                case "Split":
                    var split = ReadSplit(step);
                    steps.Add(word => SplitIsolated(split, word));
                    break;
                case "ByteLevel":
                    hasByteLevel = true;
                    if (step.TryGetProperty("add_prefix_space", out var prefix) && prefix.GetBoolean())
                        steps.Add(word => [word.StartsWith(' ') ? word : " " + word]);
                    if (step.TryGetProperty("use_regex", out var useRegex) && useRegex.GetBoolean())
                        steps.Add(word => SplitIsolated(Gpt2Regex, word));
                    break;
                default:
                    throw new UnsupportedTokenizerException(
                        $"Pre-tokenizer type '{type}' is not supported: only byte-level BPE (ByteLevel, Split) is.");
            }
        }
        if (!hasByteLevel)
            throw new UnsupportedTokenizerException(
                "The pre-tokenizer has no ByteLevel step: only byte-level BPE tokenizers are supported.");
        return new ByteLevelPreTokenizer(steps);
    }

    /// <summary>The words BPE runs on, each still in plain text (the BPE model maps bytes itself).</summary>
    public IEnumerable<string> Split(string text)
    {
        IEnumerable<string> words = [text];
        foreach (var step in _steps) words = words.SelectMany(step);
        return words;
    }

    // "Isolated" behaviour: every match is a word, and so is any text between matches.
    private static IEnumerable<string> SplitIsolated(Regex regex, string text)
    {
        var last = 0;
        foreach (Match match in regex.Matches(text))
        {
            if (match.Length == 0) continue;
            if (match.Index > last) yield return text[last..match.Index];
            yield return match.Value;
            last = match.Index + match.Length;
        }
        if (last < text.Length) yield return text[last..];
    }

    private static IEnumerable<JsonElement> Steps(JsonElement preTokenizer) =>
        preTokenizer.GetProperty("type").GetString() == "Sequence"
            ? preTokenizer.GetProperty("pretokenizers").EnumerateArray()
            : [preTokenizer];

    private static Regex ReadSplit(JsonElement split)
    {
        var behavior = split.TryGetProperty("behavior", out var b) ? b.GetString() : "Isolated";
        var invert = split.TryGetProperty("invert", out var i) && i.GetBoolean();
        if (behavior != "Isolated" || invert)
            throw new UnsupportedTokenizerException(
                $"Split pre-tokenizer with behavior '{behavior}' (invert {invert}) is not supported: only Isolated is.");
        var pattern = split.GetProperty("pattern");
        if (pattern.TryGetProperty("Regex", out var regex)) return Compile(regex.GetString()!);
        if (pattern.TryGetProperty("String", out var literal)) return Compile(Regex.Escape(literal.GetString()!));
        throw new UnsupportedTokenizerException("Split pre-tokenizer without a Regex or String pattern.");
    }

    private static Regex Compile(string pattern) => new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
}

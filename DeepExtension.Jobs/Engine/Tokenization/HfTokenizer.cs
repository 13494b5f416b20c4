using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (GPT-2, Qwen2, Llama-3 families) loaded from a model folder's
/// tokenizer.json and tokenizer_config.json, giving the same ids as the tokenizers library.
/// Added tokens are cut out first, the rest is normalized, split by the file's pre-tokenizer and each word
/// is merged by Microsoft.ML.Tokenizers' BPE.
/// </summary>
public sealed class HfTokenizer
{
    private static readonly Regex WholeWord = new(@"[\s\S]+", RegexOptions.Compiled);

    // Natural text repeats its words, and a call into the BPE library per word dominates encoding time.
    private const int WordCacheCapacity = 200_000;

    private readonly BpeTokenizer _bpe;
    private readonly ConcurrentDictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);
    private int _cachedWords;
    private readonly IReadOnlyDictionary<string, int> _vocabulary;
    private readonly Dictionary<int, string> _tokensById;
    private readonly Dictionary<int, int> _byteLengths;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly AddedTokenSplitter _splitter;
    private readonly TextNormalizer _normalizer;
    private readonly ByteLevelPreTokenizer _preTokenizer;
    private readonly PostProcessor _postProcessor;
    private readonly bool _ignoreMerges;

    private HfTokenizer(JsonElement tokenizer, SpecialTokenNames names)
    {
        var model = tokenizer.GetProperty("model");
        RequireByteLevelBpe(model);
        _vocabulary = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        _bpe = BpeTokenizer.Create(new BpeOptions(_vocabulary)
        {
            Merges = ReadMerges(model),
            ByteLevel = true,
            // Words arrive already pre-tokenized; left null, the library would split them again on whitespace.
            PreTokenizer = new RegexPreTokenizer(WholeWord, specialTokens: null),
        });
        _ignoreMerges = model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True;

        var added = tokenizer.TryGetProperty("added_tokens", out var list)
            ? list.EnumerateArray().Select(t => SpecialTokenNames.ReadAddedToken(t.GetProperty("id").GetInt32(), t))
            : [];
        _addedById = added.Concat(names.AddedTokens).GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First());
        _addedByContent = _addedById.Values.GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.First());
        _splitter = new AddedTokenSplitter(_addedById.Values);
        _tokensById = _vocabulary.ToDictionary(p => p.Value, p => p.Key);
        foreach (var token in _addedById.Values) _tokensById[token.Id] = token.Content;
        _byteLengths = _tokensById.ToDictionary(p => p.Key, p => ByteLevelAlphabet.Decode(p.Value).Length);

        _normalizer = TextNormalizer.FromJson(Property(tokenizer, "normalizer"));
        _preTokenizer = ByteLevelPreTokenizer.FromJson(Property(tokenizer, "pre_tokenizer"));
        _postProcessor = PostProcessor.FromJson(Property(tokenizer, "post_processor"));

        VocabSize = _tokensById.Keys.Max() + 1;
        SpecialTokenIds = _addedById.Values.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        BosTokenId = IdOfNamed(names.Bos);
        EosTokenId = IdOfNamed(names.Eos);
        PadTokenId = IdOfNamed(names.Pad);
    }

    /// <summary>Number of ids (vocabulary plus added tokens), like len(tokenizer) in transformers; the
    /// model's embedding table may be larger.</summary>
    public int VocabSize { get; }

    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }

    /// <summary>Ids of added tokens flagged special (skipped by <see cref="Decode"/> when asked).</summary>
    public IReadOnlySet<int> SpecialTokenIds { get; }

    public IReadOnlyCollection<AddedToken> AddedTokens => _addedById.Values;

    public static HfTokenizer Load(string modelDirectory)
    {
        var configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        return FromJson(
            File.ReadAllText(Path.Combine(modelDirectory, "tokenizer.json")),
            File.Exists(configPath) ? File.ReadAllText(configPath) : null);
    }

    public static HfTokenizer FromJson(string tokenizerJson, string? tokenizerConfigJson)
    {
        using var tokenizer = JsonDocument.Parse(tokenizerJson);
        if (tokenizerConfigJson is null) return new HfTokenizer(tokenizer.RootElement, SpecialTokenNames.None);
        using var config = JsonDocument.Parse(tokenizerConfigJson);
        return new HfTokenizer(tokenizer.RootElement, SpecialTokenNames.FromJson(config.RootElement));
    }

    /// <summary>The ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/> the
    /// post-processor's tokens (e.g. a BOS) are added, as in transformers' encode.</summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        var ids = new List<int>();
        foreach (var segment in _splitter.Split(text))
        {
            if (segment.Token is { } added) ids.Add(added.Id);
            else ids.AddRange(EncodePlain(segment.Text).Ids);
        }
        return addSpecialTokens ? _postProcessor.Apply(ids) : [.. ids];
    }

    /// <summary>
    /// The ids of <paramref name="text"/> (no special tokens added), each with the characters it came from,
    /// e.g. to find which tokens belong to an assistant message. A token that ends inside a multi-byte
    /// character is given the whole character. Offsets are exact where normalization leaves the text unchanged.
    /// </summary>
    public IReadOnlyList<TokenOffsets> EncodeWithOffsets(string text)
    {
        var tokens = new List<TokenOffsets>();
        foreach (var segment in _splitter.Split(text))
        {
            if (segment.Token is { } added)
            {
                tokens.Add(new TokenOffsets(added.Id, segment.Start, segment.End));
                continue;
            }
            var (normalized, ids) = EncodePlain(segment.Text);
            tokens.AddRange(WithOffsets(ids, normalized, segment));
        }
        return tokens;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var decoder = CreateStreamingDecoder(skipSpecialTokens);
        return string.Concat(ids.Select(decoder.Append)) + decoder.Flush();
    }

    /// <summary>A decoder for generation that emits text as ids arrive, holding back incomplete UTF-8.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) =>
        new(id => skipSpecialTokens && SpecialTokenIds.Contains(id) ? [] : ByteLevelAlphabet.Decode(TokenOf(id)));

    /// <summary>The id of a vocabulary entry or added token, spelled as in tokenizer.json.</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var added) ? added.Id
        : _vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>The token of an id, spelled as in tokenizer.json (byte-level characters, e.g. "Ġthe").</summary>
    public string? IdToToken(int id) => _tokensById.GetValueOrDefault(id);

    private string TokenOf(int id) => _tokensById.TryGetValue(id, out var token)
        ? token
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary.");

    // Text between added tokens: normalized, split into words, each word merged by BPE.
    private (string Normalized, List<int> Ids) EncodePlain(string text)
    {
        var normalized = _normalizer.Normalize(text);
        var ids = new List<int>();
        foreach (var word in _preTokenizer.Split(normalized)) EncodeWord(word, ids);
        return (normalized, ids);
    }

    private void EncodeWord(string word, List<int> ids)
    {
        if (_wordCache.TryGetValue(word, out var cached))
        {
            ids.AddRange(cached);
            return;
        }
        // ignore_merges (Llama-3): a word that is itself a vocabulary entry is taken whole, merges or not.
        int[] encoded = _ignoreMerges && _vocabulary.TryGetValue(ByteLevelAlphabet.Encode(word), out var whole)
            ? [whole]
            : [.. _bpe.EncodeToIds(word)];
        // ConcurrentDictionary.Count takes every lock, so the cache keeps its own count.
        if (_cachedWords < WordCacheCapacity && _wordCache.TryAdd(word, encoded)) Interlocked.Increment(ref _cachedWords);
        ids.AddRange(encoded);
    }

    // The tokens' bytes, laid end to end, are the segment's UTF-8 bytes (after a prefix space, if one was added).
    private IEnumerable<TokenOffsets> WithOffsets(List<int> ids, string normalized, TextSegment segment)
    {
        var charAtByte = new List<int>();
        for (var i = 0; i < normalized.Length; i += char.IsSurrogatePair(normalized, i) ? 2 : 1)
        {
            var width = System.Text.Encoding.UTF8.GetByteCount(normalized.AsSpan(i, char.IsSurrogatePair(normalized, i) ? 2 : 1));
            for (var b = 0; b < width; b++) charAtByte.Add(i);
        }
        var totalBytes = ids.Sum(id => _byteLengths[id]);
        var byteOffset = charAtByte.Count - totalBytes; // negative by the prefix space's byte
        foreach (var id in ids)
        {
            var start = CharAt(charAtByte, byteOffset, normalized.Length);
            byteOffset += _byteLengths[id];
            var last = CharAt(charAtByte, byteOffset - 1, normalized.Length);
            var end = Math.Max(start, last + (char.IsSurrogatePair(normalized, Math.Min(last, normalized.Length - 1)) ? 2 : 1));
            yield return new TokenOffsets(id, segment.Start + Math.Min(start, segment.Text.Length), segment.Start + Math.Min(end, segment.Text.Length));
        }
    }

    private static int CharAt(List<int> charAtByte, int byteOffset, int length) =>
        byteOffset < 0 ? 0 : byteOffset >= charAtByte.Count ? length : charAtByte[byteOffset];

    private int? IdOfNamed(string? token) => token is null ? null : TokenToId(token);

    private static JsonElement Property(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) ? value : default;

    private static void RequireByteLevelBpe(JsonElement model)
    {
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type != "BPE")
            throw new UnsupportedTokenizerException(
                $"Tokenizer model type '{type ?? "(none)"}' is not supported: only byte-level BPE is.");
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
            throw new UnsupportedTokenizerException(
                "Tokenizer model is a SentencePiece-style BPE (byte_fallback): only byte-level BPE is supported.");
    }

    // Newer files store each merge as ["a", "b"], older ones as "a b"; byte-level tokens never contain spaces.
    private static IEnumerable<string> ReadMerges(JsonElement model) =>
        model.GetProperty("merges").EnumerateArray().Select(merge => merge.ValueKind == JsonValueKind.Array
            ? $"{merge[0].GetString()} {merge[1].GetString()}"
            : merge.GetString()!).ToList();
}

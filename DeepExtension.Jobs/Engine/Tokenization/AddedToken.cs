namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// A token matched verbatim in the input before BPE runs (Hugging Face "added tokens"): chat markers,
/// end-of-text and the like. <paramref name="LeftStrip"/>/<paramref name="RightStrip"/> let the match
/// swallow adjacent whitespace; <paramref name="SingleWord"/> only matches it outside words.
/// </summary>
public sealed record AddedToken(
    int Id, string Content, bool Special, bool LeftStrip = false, bool RightStrip = false, bool SingleWord = false);

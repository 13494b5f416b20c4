namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>A token id and the characters [<paramref name="Start"/>, <paramref name="End"/>) of the text it encodes.</summary>
public readonly record struct TokenOffsets(int Id, int Start, int End);

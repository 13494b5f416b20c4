namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>A tokenizer.json that uses a model, pre-tokenizer or normalizer this project cannot reproduce exactly.</summary>
public sealed class UnsupportedTokenizerException(string message) : Exception(message);

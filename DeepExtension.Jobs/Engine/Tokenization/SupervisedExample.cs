namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// One tokenized training conversation for supervised fine-tuning: <see cref="Labels"/> equals
/// <see cref="InputIds"/> on assistant tokens and <see cref="IgnoreIndex"/> elsewhere (the model shifts them).
/// </summary>
public sealed record SupervisedExample(int[] InputIds, int[] Labels)
{
    /// <summary>The label PyTorch's cross-entropy (and Hugging Face) skip.</summary>
    public const int IgnoreIndex = -100;
}

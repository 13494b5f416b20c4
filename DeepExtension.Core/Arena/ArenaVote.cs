namespace DeepExtension.Core.Arena;

/// <summary>What the user said after reading both answers of an arena round.</summary>
public enum ArenaVerdict
{
    /// <summary>Model A's answer is better.</summary>
    A,
    /// <summary>Model B's answer is better.</summary>
    B,
    /// <summary>Both are as good.</summary>
    Tie,
    /// <summary>Neither answer is acceptable (a tie, but a telling one).</summary>
    BothBad,
}

/// <summary>
/// One arena vote on Live Models: two deployed models answered the same prompt side by side (A shown on the left), and
/// the user chose. The deployments' ids and Ollama names are kept as they were, so the vote stays meaningful after a
/// deployment is removed (no foreign keys, as with deployments themselves).
/// </summary>
public sealed class ArenaVote
{
    public Guid Id { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    public string? CreatedBy { get; set; }
    public Guid ModelAId { get; set; }
    public required string ModelAName { get; set; }
    public Guid ModelBId { get; set; }
    public required string ModelBName { get; set; }
    public required string Prompt { get; set; }
    public required string AnswerA { get; set; }
    public required string AnswerB { get; set; }
    public ArenaVerdict Verdict { get; set; }

    public const int NameMaxLength = 200;
}

namespace DeepExtension.Core.Work;

/// <summary>
/// Fencing on read of a file that the successive holders of a work item's lease append to (a run's metrics.jsonl and
/// train.log.jsonl). Each line carries the token of the lease it was written under, and an owner that takes the item
/// over writes its token into the file before anything else. A worker frozen between its lease check and its append
/// finishes that append when it is thawed, after the takeover: its line then follows a line of a higher token. So,
/// read in file order, a line is stale when a line before it carried a higher token. Lines without a token (earlier
/// versions, or a writer that holds no lease) read as before: always admitted, and they raise nothing.
/// </summary>
public sealed class LeaseFence
{
    /// <summary>The JSON property a fenced line carries its token in.</summary>
    public const string Property = "lease_token";

    /// <summary>The highest token read so far (0 before any).</summary>
    public long Token { get; private set; }

    /// <summary>Whether a line written under <paramref name="token"/> is current; a higher token raises the fence for the lines after it.</summary>
    public bool Admits(long? token)
    {
        if (token is not { } t) return true;
        if (t < Token) return false;
        Token = t;
        return true;
    }
}

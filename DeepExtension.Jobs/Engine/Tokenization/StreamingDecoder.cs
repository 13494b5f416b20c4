using System.Text;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// Turns ids into text one at a time during generation. A byte-level token can end in the middle of a
/// UTF-8 character (an emoji spans several tokens), so the incomplete bytes are held until they complete.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Func<int, byte[]> _bytesOf;
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();

    internal StreamingDecoder(Func<int, byte[]> bytesOf) => _bytesOf = bytesOf;

    /// <summary>The text completed by this id (possibly empty).</summary>
    public string Append(int id)
    {
        var bytes = _bytesOf(id);
        var chars = new char[_utf8.GetCharCount(bytes, 0, bytes.Length, flush: false)];
        _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
        return new string(chars);
    }

    /// <summary>Ends the stream: bytes still pending become U+FFFD, as a lossy UTF-8 decode gives.</summary>
    public string Flush()
    {
        var chars = new char[_utf8.GetCharCount([], 0, 0, flush: true)];
        _utf8.GetChars([], 0, 0, chars, 0, flush: true);
        return new string(chars);
    }
}

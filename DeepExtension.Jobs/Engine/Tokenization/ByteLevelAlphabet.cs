namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// GPT-2's reversible byte↔character table: byte-level BPE vocabularies spell every byte as a printable
/// character, so printable ASCII/Latin-1 bytes map to themselves and the rest to code points from U+0100 up.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    public static string Encode(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// The bytes a vocabulary token stands for. Like Hugging Face's ByteLevel decoder, a token with any
    /// character outside the table (an added token such as "&lt;|im_start|&gt;" is usually inside it, but
    /// not always) contributes its own UTF-8 bytes instead.
    /// </summary>
    public static byte[] Decode(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out bytes[i])) return System.Text.Encoding.UTF8.GetBytes(token);
        }
        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}

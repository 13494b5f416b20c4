using System.Globalization;

namespace DeepExtension.Core.Common;

public static class ByteSize
{
    /// <summary>Binary units, at most two decimals: "512 B", "1.5 KiB", "3.25 GiB".</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => Scaled(bytes, 1L << 30, "GiB"),
        >= 1L << 20 => Scaled(bytes, 1L << 20, "MiB"),
        >= 1L << 10 => Scaled(bytes, 1L << 10, "KiB"),
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    /// <summary>"—" for an unknown size.</summary>
    public static string Format(long? bytes) => bytes is { } value ? Format(value) : "—";

    private static string Scaled(long bytes, long unit, string name) =>
        (bytes / (double)unit).ToString("0.##", CultureInfo.InvariantCulture) + " " + name;
}

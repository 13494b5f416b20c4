using System.Globalization;

namespace DeepExtension.Core.Common;

/// <summary>
/// The one way numbers, durations, sizes and times read in the console: every page formats through here, so a loss
/// or a duration looks the same wherever it appears. Invariant culture (a decimal point, comma thousands).
/// </summary>
public static class DisplayFormat
{
    /// <summary>What an unknown or non-finite value shows.</summary>
    public const string Missing = "—";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Below this magnitude a number prints as 0: what float arithmetic leaves of a zero (a GRPO loss of
    /// -5.42e-20) is noise, not a value. The charts use the same bound (chart-math.js, formatNumber).
    /// </summary>
    public const double NearZero = 1e-12;

    /// <summary>
    /// A measured value (loss, reward, gradient norm) to four significant digits: "2.346", "0.01235", "1234",
    /// "1.235e-5" (scientific below 0.001 and from 100,000 on, where fixed digits would hide the value).
    /// </summary>
    public static string Significant(double? value, int digits = 4)
    {
        if (value is not { } v || !double.IsFinite(v)) return Missing;
        if (Math.Abs(v) < NearZero) return "0";
        var magnitude = Math.Abs(v);
        if (magnitude is < 1e-3 or >= 1e5)
        {
            return v.ToString("0." + new string('#', digits - 1) + "e+0", Invariant);
        }
        var exponent = (int)Math.Floor(Math.Log10(magnitude));
        var decimals = Math.Max(0, digits - 1 - exponent);
        // Rounding can carry into the next power of ten (9.99996 -> "10.000"): format the rounded value again.
        var rounded = Math.Round(v, decimals, MidpointRounding.AwayFromZero);
        if (Math.Abs(rounded) >= Math.Pow(10, exponent + 1)) decimals = Math.Max(0, decimals - 1);
        return rounded.ToString("F" + decimals, Invariant);
    }

    /// <summary>A loss: four significant digits.</summary>
    public static string Loss(double? value) => Significant(value);

    /// <summary>A count with thousands separators: "12,345".</summary>
    public static string Count(long? value) => value is { } v ? v.ToString("N0", Invariant) : Missing;

    /// <summary>A rate or speed where fractions do not matter: "812 tokens/s" style, whole numbers from 100 on.</summary>
    public static string Rate(double? value) => value is { } v && double.IsFinite(v)
        ? (Math.Abs(v) >= 100 ? Math.Round(v).ToString("N0", Invariant) : Significant(v, 3))
        : Missing;

    /// <summary>An epoch position: at most two decimals ("1.25").</summary>
    public static string Epoch(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.##", Invariant) : Missing;

    /// <summary>A fraction 0–1 as a percentage: "42 %".</summary>
    public static string Percent(double? fraction) => fraction is { } f && double.IsFinite(f) ? (f * 100).ToString("0", Invariant) + " %" : Missing;

    /// <summary>"1h 02m", "3m 05s", "42s", "2d 03h".</summary>
    public static string Duration(TimeSpan? span)
    {
        if (span is not { } s) return Missing;
        if (s < TimeSpan.Zero) s = TimeSpan.Zero;
        if (s.TotalDays >= 1) return $"{(int)s.TotalDays}d {s.Hours:00}h";
        if (s.TotalHours >= 1) return $"{(int)s.TotalHours}h {s.Minutes:00}m";
        if (s.TotalMinutes >= 1) return $"{s.Minutes}m {s.Seconds:00}s";
        return $"{s.Seconds}s";
    }

    /// <summary>Seconds (an ETA, a duration logged as a number) as a <see cref="Duration(TimeSpan?)"/>.</summary>
    public static string Seconds(double? seconds) =>
        seconds is { } v && double.IsFinite(v) && Math.Abs(v) < TimeSpan.MaxValue.TotalSeconds ? Duration(TimeSpan.FromSeconds(v)) : Missing;

    /// <summary>Sizes in binary units (<see cref="ByteSize"/>).</summary>
    public static string Size(long? bytes) => ByteSize.Format(bytes);

    /// <summary>
    /// Marks a stored time as UTC: the database hands SQLite times back as Unspecified, and cards written before
    /// the fix carry ISO times without a "Z"; both are UTC by how this application writes them.
    /// </summary>
    public static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };

    /// <summary>A timestamp in UTC, to the minute: "2026-11-25 14:03 UTC" (the hover text of a local time).</summary>
    public static string Utc(DateTime? time) =>
        time is { } t ? AsUtc(t).ToString("yyyy-MM-dd HH:mm:ss", Invariant) + " UTC" : Missing;

    /// <summary>A timestamp in the given time zone, to the minute: "2026-11-25 15:03".</summary>
    public static string Local(DateTime? time, TimeZoneInfo zone) =>
        time is { } t ? TimeZoneInfo.ConvertTimeFromUtc(AsUtc(t), zone).ToString("yyyy-MM-dd HH:mm", Invariant) : Missing;

    /// <summary>
    /// Reads an ISO 8601 time from a card or file; one without an offset or "Z" (cards written before the fix) is UTC.
    /// </summary>
    public static DateTime? ParseUtc(string? text) =>
        DateTime.TryParse(text, Invariant, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed)
            ? DateTime.SpecifyKind(parsed, DateTimeKind.Utc)
            : null;

    /// <summary>An ISO 8601 round-trip UTC time, always with its "Z".</summary>
    public static string Iso(DateTime time) => AsUtc(time).ToString("O", Invariant);
}

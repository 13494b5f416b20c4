using System.Text.Json.Nodes;
using DeepExtension.Core.Common;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Core;

public class DisplayFormatTests
{
    [Theory]
    [InlineData(2.345678, "2.346")]
    [InlineData(0.0123456, "0.01235")]
    [InlineData(1.1, "1.100")]
    [InlineData(12.34567, "12.35")]
    [InlineData(1234.5678, "1235")]
    [InlineData(9.99996, "10.00")]
    [InlineData(0.000012346, "1.235e-5")]
    [InlineData(123456.0, "1.235e+5")]
    [InlineData(-0.5, "-0.5000")]
    [InlineData(0.0, "0")]
    public void Loss_Values_FourSignificantDigits(double value, string expected) => Assert.Equal(expected, DisplayFormat.Loss(value));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Loss_NotFinite_Dash(double value) => Assert.Equal("—", DisplayFormat.Loss(value));

    [Fact]
    public void Loss_Unknown_Dash() => Assert.Equal("—", DisplayFormat.Loss(null));

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(42, "42s")]
    [InlineData(185, "3m 05s")]
    [InlineData(3720, "1h 02m")]
    [InlineData(27.42787, "27s")]
    [InlineData(86400 + 3 * 3600, "1d 03h")]
    public void Seconds_Durations_ReadAsHoursMinutesSeconds(double seconds, string expected) => Assert.Equal(expected, DisplayFormat.Seconds(seconds));

    [Fact]
    public void Duration_Negative_IsZero() => Assert.Equal("0s", DisplayFormat.Duration(TimeSpan.FromSeconds(-5)));

    [Theory]
    [InlineData(812.4, "812")]
    [InlineData(12_345.6, "12,346")]
    [InlineData(42.123, "42.1")]
    public void Rate_Speeds_WholeFromAHundred(double value, string expected) => Assert.Equal(expected, DisplayFormat.Rate(value));

    [Fact]
    public void Count_Thousands_Separated() => Assert.Equal("1,234,567", DisplayFormat.Count(1_234_567));

    [Fact]
    public void Size_Bytes_BinaryUnits() => Assert.Equal("1.5 KiB", DisplayFormat.Size(1536));

    [Fact]
    public void ParseUtc_OldCardTimeWithoutZ_IsReadAsUtc()
    {
        var parsed = DisplayFormat.ParseUtc("2026-11-22T10:15:00.1234567");

        Assert.Equal(new DateTime(2026, 11, 22, 10, 15, 0, DateTimeKind.Utc).AddTicks(1234567), parsed);
        Assert.Equal(DateTimeKind.Utc, parsed!.Value.Kind);
    }

    [Fact]
    public void ParseUtc_TimeWithOffset_IsConvertedToUtc() =>
        Assert.Equal(new DateTime(2026, 11, 22, 9, 15, 0, DateTimeKind.Utc), DisplayFormat.ParseUtc("2026-11-22T10:15:00+01:00"));

    [Fact]
    public void Iso_UnspecifiedTimeFromTheDatabase_EndsWithZ() =>
        Assert.Equal("2026-11-22T10:15:00.0000000Z", DisplayFormat.Iso(new DateTime(2026, 11, 22, 10, 15, 0, DateTimeKind.Unspecified)));

    [Fact]
    public void LocalAndUtc_ATimeInBerlin_ShowsLocalTimeWithUtcForTheHover()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var time = new DateTime(2026, 11, 22, 10, 15, 30, DateTimeKind.Unspecified);

        Assert.Equal("2026-11-22 11:15", DisplayFormat.Local(time, berlin));
        Assert.Equal("2026-11-22 10:15:30 UTC", DisplayFormat.Utc(time));
    }

    [Fact]
    public async Task CustomizedModelCard_WrittenNow_HasItsTimesWithZ()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var trio = await ComparedRunsFixture.CreateAsync(env);
        var customized = (await new DeepExtension.Core.CustomizedModels.CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System).ListAsync()).Single();

        var train = JsonNode.Parse(customized.CardJson)!["train"]!;

        Assert.NotNull(trio.Base.StartedAtUtc);
        Assert.EndsWith("Z", train["started_utc"]!.GetValue<string>());
        Assert.EndsWith("Z", train["finished_utc"]!.GetValue<string>());
    }
}

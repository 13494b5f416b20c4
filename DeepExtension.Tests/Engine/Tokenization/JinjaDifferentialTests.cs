using System.Text.Json;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Tokenization.Jinja;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>
/// TestData/jinja-cases.json: small templates covering the interpreter's features, with the output (or
/// error) that real Jinja2 gave under transformers' chat-template settings.
/// </summary>
public class JinjaDifferentialTests
{
    private static readonly DateTimeOffset FixedNow = new(2026, 3, 5, 14, 7, 9, TimeSpan.Zero);

    private static string CasesFile => Path.Combine(AppContext.BaseDirectory, "TestData", "jinja-cases.json");

    public static TheoryData<int> CaseIndices
    {
        get
        {
            using var file = JsonDocument.Parse(File.ReadAllText(CasesFile));
            var data = new TheoryData<int>();
            for (var i = 0; i < file.RootElement.GetProperty("cases").GetArrayLength(); i++) data.Add(i);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Render_JinjaCase_MatchesJinja2(int index)
    {
        using var file = JsonDocument.Parse(File.ReadAllText(CasesFile));
        var @case = file.RootElement.GetProperty("cases")[index];
        var context = file.RootElement.GetProperty("context").EnumerateObject()
            .ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        var source = @case.GetProperty("template").GetString()!;

        string Render() => new ChatTemplate(source) { Clock = new FixedClock(FixedNow) }.Render([], false, extra: context);

        if (!@case.TryGetProperty("error", out var error))
        {
            Assert.Equal(@case.GetProperty("text").GetString(), Render());
            return;
        }
        var (type, message) = SplitError(error.GetString()!);
        if (type == "TemplateError")
        {
            Assert.Equal(message, Assert.Throws<TemplateRaisedException>(Render).Message);
            return;
        }
        var thrown = Assert.Throws<TemplateRuntimeException>(Render);
        // Jinja's sandbox words its refusal of mutating methods differently; the rest must say the same.
        if (type != "SecurityError") Assert.Contains(message, thrown.Message);
    }

    private static (string Type, string Message) SplitError(string error)
    {
        var colon = error.IndexOf(": ", StringComparison.Ordinal);
        return (error[..colon], error[(colon + 2)..]);
    }
}

/// <summary>A clock stopped at one local time, for strftime_now.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}

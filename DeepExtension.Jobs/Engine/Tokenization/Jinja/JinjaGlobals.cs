using System.Globalization;
using System.Text;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>The functions a chat template can call: Jinja's range/namespace/dict and HF's
/// raise_exception and strftime_now.</summary>
internal static class JinjaGlobals
{
    public static Scope Create(TimeProvider clock)
    {
        var globals = new Scope(null);
        Add(globals, "range", Range);
        Add(globals, "namespace", a => new JinjaNamespace(Dict(a)));
        Add(globals, "dict", a => Dict(a));
        Add(globals, "raise_exception", a => throw new TemplateRaisedException(PythonFormat.Str(a.Get(0, "message"))));
        Add(globals, "strftime_now", a => Strftime(clock.GetLocalNow().DateTime, PythonMethods.Text(a.Get(0, "format"))));
        return globals;
    }

    private static void Add(Scope globals, string name, Func<CallArguments, object?> function) =>
        globals.Assign(name, new JinjaFunction(name, function));

    private static object Range(CallArguments a)
    {
        var bounds = a.Positional.Select(PythonOperators.ToLong).ToArray();
        var (start, stop, step) = bounds.Length switch
        {
            1 => (0L, bounds[0], 1L),
            2 => (bounds[0], bounds[1], 1L),
            3 => (bounds[0], bounds[1], bounds[2]),
            _ => throw new JinjaError("range expected 1 to 3 integer arguments"),
        };
        if (step == 0) throw new JinjaError("range() arg 3 must not be zero");
        var values = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step) values.Add(i);
        return values;
    }

    // namespace(a=1) or namespace(existing_dict, a=1), like dict(...).
    private static OrderedDictionary<string, object?> Dict(CallArguments a)
    {
        var result = new OrderedDictionary<string, object?>();
        if (a.Positional.FirstOrDefault() is OrderedDictionary<string, object?> initial)
            foreach (var (key, value) in initial) result[key] = value;
        foreach (var (key, value) in a.Named) result[key] = value;
        return result;
    }

    /// <summary>Python's datetime.strftime for the directives templates use ("%d %b %Y"), including
    /// glibc's "%-d" (no padding).</summary>
    public static string Strftime(DateTime time, string format)
    {
        var output = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length)
            {
                output.Append(format[i]);
                continue;
            }
            var unpadded = format[i + 1] == '-' && i + 2 < format.Length;
            if (unpadded) i++;
            var directive = format[++i];
            var text = Directive(time, directive);
            output.Append(unpadded && text.Length > 1 ? text.TrimStart('0').PadLeft(1, '0') : text);
        }
        return output.ToString();
    }

    private static string Directive(DateTime t, char directive)
    {
        var c = CultureInfo.InvariantCulture;
        return directive switch
        {
            'Y' => t.Year.ToString("0000", c),
            'y' => t.ToString("yy", c),
            'm' => t.ToString("MM", c),
            'd' => t.ToString("dd", c),
            'e' => t.Day.ToString(c).PadLeft(2),
            'H' => t.ToString("HH", c),
            'I' => t.ToString("hh", c),
            'M' => t.ToString("mm", c),
            'S' => t.ToString("ss", c),
            'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
            'p' => t.Hour < 12 ? "AM" : "PM",
            'b' or 'h' => t.ToString("MMM", c),
            'B' => t.ToString("MMMM", c),
            'a' => t.ToString("ddd", c),
            'A' => t.ToString("dddd", c),
            'j' => t.DayOfYear.ToString("000", c),
            'w' => ((int)t.DayOfWeek).ToString(c),
            'F' => t.ToString("yyyy-MM-dd", c),
            'T' => t.ToString("HH:mm:ss", c),
            'Z' or 'z' => "",
            '%' => "%",
            _ => "%" + directive,
        };
    }
}

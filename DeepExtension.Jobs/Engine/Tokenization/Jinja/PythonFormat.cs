using System.Globalization;
using System.Text;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>How Python prints values (str and repr), since template output must match HF's byte for byte.</summary>
internal static class PythonFormat
{
    public static string Str(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(value),
    };

    public static string Repr(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        string s => QuoteString(s),
        Undefined => "",
        object?[] tuple => tuple.Length == 1 ? $"({Repr(tuple[0])},)" : $"({string.Join(", ", tuple.Select(Repr))})",
        IList<object?> list => $"[{string.Join(", ", list.Select(Repr))}]",
        OrderedDictionary<string, object?> dict => $"{{{string.Join(", ", dict.Select(p => $"{Repr(p.Key)}: {Repr(p.Value)}"))}}}",
        JinjaNamespace ns => $"<Namespace {Repr(ns.Attributes)}>",
        JinjaFunction f => $"<function {f.Name}>",
        _ => value.ToString() ?? "",
    };

    /// <summary>Python's float repr: shortest round-trip digits, ".0" on whole numbers, exponent outside 1e-4..1e16.</summary>
    public static string Float(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";

        var roundTrip = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var parts = roundTrip.Split('E');
        var exponent = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 0;
        var point = parts[0].IndexOf('.') is var p and >= 0 ? p : parts[0].Length;
        var digits = parts[0].Replace(".", "");
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        var decimalExponent = point - leadingZeros - 1 + exponent;

        var text = decimalExponent is >= -4 and < 16
            ? Positional(digits, decimalExponent)
            : $"{digits[0]}{(digits.Length > 1 ? "." + digits[1..] : "")}e{(decimalExponent < 0 ? "-" : "+")}{Math.Abs(decimalExponent):00}";
        return value < 0 ? "-" + text : text;
    }

    private static string Positional(string digits, int decimalExponent)
    {
        if (decimalExponent < 0) return "0." + new string('0', -decimalExponent - 1) + digits;
        var whole = digits.Length > decimalExponent + 1 ? digits[..(decimalExponent + 1)] : digits.PadRight(decimalExponent + 1, '0');
        var fraction = digits.Length > decimalExponent + 1 ? digits[(decimalExponent + 1)..] : "0";
        return $"{whole}.{fraction}";
    }

    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        object?[] => "tuple",
        IList<object?> => "list",
        OrderedDictionary<string, object?> => "dict",
        Undefined => "Undefined",
        JinjaNamespace => "Namespace",
        LoopContext => "LoopContext",
        JinjaFunction => "function",
        _ => value.GetType().Name,
    };

    // Single quotes unless the text has a single quote and no double quote, escapes as Python writes them.
    private static string QuoteString(string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var result = new StringBuilder().Append(quote);
        foreach (var c in s)
        {
            result.Append(c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when c == quote => "\\" + c,
                _ when c < ' ' || c == '\x7f' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }
        return result.Append(quote).ToString();
    }
}

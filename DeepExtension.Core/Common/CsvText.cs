namespace DeepExtension.Core.Common;

/// <summary>How the console writes a text cell of any CSV it produces.</summary>
public static class CsvText
{
    /// <summary>
    /// RFC 4180 quoting, after OWASP's rule against formula injection: a cell that begins with =, +, -, @, a tab or a
    /// carriage return gets a leading apostrophe (and is then quoted), so a spreadsheet shows it as text and never runs it.
    /// Only for text: numbers the console formats itself are written as they are.
    /// </summary>
    public static string Cell(string value)
    {
        var formula = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r';
        if (formula) value = "'" + value;
        return formula || value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}

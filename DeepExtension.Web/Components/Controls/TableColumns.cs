namespace DeepExtension.Web.Components.Controls;

/// <summary>A column a user may hide; primary ones (names, status, actions) are not listed, so they cannot be hidden.</summary>
public sealed record TableColumn(string Key, string Label, bool ShownByDefault = true);

/// <summary>
/// Which optional columns of one table are shown, remembered per browser (localStorage, under the table's key).
/// </summary>
public sealed class TableColumns(string tableKey, params TableColumn[] columns)
{
    private HashSet<string> _shown = [.. columns.Where(c => c.ShownByDefault).Select(c => c.Key)];

    public IReadOnlyList<TableColumn> Columns { get; } = columns;

    public string StorageKey { get; } = "deepx.columns." + tableKey;

    public bool Shows(string key) => _shown.Contains(key);

    public int ShownCount => _shown.Count;

    /// <summary>
    /// The colspan of a row spanning the whole table: the optional columns shown plus the <paramref name="fixedColumns"/>
    /// always there. Exact, since a fixed-layout table would add a phantom column for a larger span.
    /// </summary>
    public int Span(int fixedColumns) => fixedColumns + _shown.Count;

    public void Set(string key, bool shown)
    {
        if (shown) _shown.Add(key);
        else _shown.Remove(key);
    }

    /// <summary>"key1,key2": the shown columns, as stored.</summary>
    public string Serialize() => string.Join(',', Columns.Where(c => _shown.Contains(c.Key)).Select(c => c.Key));

    /// <summary>Restores a stored selection; columns added since keep their default.</summary>
    public void Restore(string? stored, IReadOnlyCollection<string> knownWhenStored)
    {
        if (stored is null) return;
        var shown = stored.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        _shown = [.. Columns.Where(c => shown.Contains(c.Key) || (!knownWhenStored.Contains(c.Key) && c.ShownByDefault)).Select(c => c.Key)];
    }
}

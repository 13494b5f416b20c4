namespace DeepExtension.Web.Components.Controls;

/// <summary>A table row holding the latest state of one entity; the row object outlives reloads.</summary>
public sealed class LiveRow<T>(T item)
    where T : class
{
    public T Item { get; internal set; } = item;
}

/// <summary>
/// The rows of a table on a <see cref="LiveListPage"/>. MudTable keys its rows by item (@key), and every reload brings
/// new entity objects: rows holding those would be rebuilt every second, buttons and checkboxes included, and a click
/// landing on a row being rebuilt would be lost. One row object per id, kept across reloads, avoids that.
/// </summary>
public sealed class LiveRows<T>(Func<T, Guid> idOf)
    where T : class
{
    private readonly Dictionary<Guid, LiveRow<T>> _byId = [];

    public IReadOnlyList<LiveRow<T>> Rows { get; private set; } = [];

    /// <summary>Takes the freshly loaded items (in display order); rows of items no longer present go.</summary>
    public IReadOnlyList<LiveRow<T>> Update(IEnumerable<T> items)
    {
        var present = new HashSet<Guid>();
        Rows = items.Select(item =>
        {
            var id = idOf(item);
            present.Add(id);
            if (_byId.TryGetValue(id, out var row)) row.Item = item;
            else _byId[id] = row = new LiveRow<T>(item);
            return row;
        }).ToList();
        foreach (var gone in _byId.Keys.Where(id => !present.Contains(id)).ToList()) _byId.Remove(gone);
        return Rows;
    }
}

using DeepExtension.Core.Data;
using DeepExtension.Core.Storage;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Nodes;

/// <summary>
/// Proves that a node sees the console's data root (the same NFS export or volume): the console writes a random id into
/// <see cref="FileName"/> under the data root at its first start and records it in the database; a worker node starts
/// only when the file it sees holds that id, so it never trains into a data root the console does not read.
/// </summary>
public sealed class DataRootMarker(IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, TimeProvider clock)
{
    public const string FileName = "data-root-id.txt";

    public string FilePath => Path.Combine(directories.Root, FileName);

    /// <summary>At the console's start: records the data root's id (creating both at the first start).</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var recorded = await db.Installation.AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        var onDisk = ReadFile();
        if (recorded is null)
        {
            var id = onDisk ?? Guid.NewGuid();
            if (onDisk is null) WriteFile(id);
            db.Installation.Add(new Installation { DataRootId = id, CreatedAtUtc = clock.GetUtcNow().UtcDateTime });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Another console recorded it first: the check below compares with what it wrote.
                db.ChangeTracker.Clear();
                recorded = await db.Installation.AsNoTracking().FirstAsync(cancellationToken);
                if (recorded.DataRootId != id && onDisk is null) WriteFile(recorded.DataRootId);
            }
            return;
        }
        if (onDisk is null)
        {
            // An installation from before the marker, or one whose file was removed: the database says which root it is.
            WriteFile(recorded.DataRootId);
            return;
        }
        if (onDisk != recorded.DataRootId) throw new InvalidOperationException(Mismatch(onDisk.Value, recorded.DataRootId));
    }

    /// <summary>At a worker node's start: null when the data root is the console's, else what is wrong.</summary>
    public async Task<string?> VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var recorded = await db.Installation.AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        if (recorded is null)
        {
            return "The database has no data root recorded yet: start the console once (it writes the data root's marker " +
                   $"file {FileName} and records its id), then start the worker node.";
        }
        var onDisk = ReadFile();
        if (onDisk is null)
        {
            return $"Wrong data root: {FilePath} does not exist, so {directories.Root} is not the console's data root. " +
                   "Mount the console's data root (the same NFS export or volume) and point DeepExtension:DataRoot at it.";
        }
        return onDisk == recorded.DataRootId ? null : Mismatch(onDisk.Value, recorded.DataRootId);
    }

    private string Mismatch(Guid onDisk, Guid recorded) =>
        $"Wrong data root: {FilePath} holds {onDisk}, but this database belongs to the data root {recorded}. " +
        "Point DeepExtension:DataRoot at the console's data root (the same NFS export or volume), or the connection string at its database.";

    private Guid? ReadFile()
    {
        try
        {
            var text = File.ReadAllText(FilePath).Trim();
            return Guid.TryParse(text, out var id) ? id
                : throw new InvalidOperationException($"{FilePath} does not hold a data root id (\"{text[..Math.Min(text.Length, 40)]}\").");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private void WriteFile(Guid id)
    {
        Directory.CreateDirectory(directories.Root);
        var temp = FilePath + ".tmp";
        File.WriteAllText(temp, id.ToString() + Environment.NewLine);
        File.Move(temp, FilePath, overwrite: true);
    }
}

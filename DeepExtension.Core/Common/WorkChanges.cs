using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace DeepExtension.Core.Common;

/// <summary>The kinds of background work (and what they produce) whose lists update live.</summary>
[Flags]
public enum ChangedWork
{
    None = 0,
    Trains = 1,
    Saves = 2,
    Deployments = 4,
    Models = 8,
    /// <summary>Hub downloads (and the base models they register).</summary>
    Downloads = 16,
    /// <summary>Evaluations.</summary>
    Evaluations = 32,
}

/// <summary>
/// The in-process change notifier of background work: raised whenever a train, save or deployment changes state in
/// the database (by whatever service or job of this process saved it, see <see cref="Interceptor"/>), so lists reload
/// on the event. Work changed by another process (a separate scheduler node) is caught by the lists' slow poll.
/// </summary>
public sealed class WorkChanges
{
    private readonly Lock _gate = new();
    private readonly List<Action<ChangedWork>> _handlers = [];

    /// <summary>Calls <paramref name="handler"/> after each change (on the thread that saved it; keep it short). Dispose to stop.</summary>
    public IDisposable Subscribe(Action<ChangedWork> handler)
    {
        lock (_gate) _handlers.Add(handler);
        return new Unsubscriber(() =>
        {
            lock (_gate) _handlers.Remove(handler);
        });
    }

    public void Raise(ChangedWork kinds)
    {
        if (kinds == ChangedWork.None) return;
        Action<ChangedWork>[] handlers;
        lock (_gate) handlers = [.. _handlers];
        foreach (var handler in handlers)
        {
            try
            {
                handler(kinds);
            }
            catch (Exception)
            {
                // A subscriber's failure (a page gone) is its own; the save that raised the change succeeded.
            }
        }
    }

    /// <summary>What a save changed, by the entities it touched: a train's summary columns alone are not a state change.</summary>
    internal static ChangedWork KindsOf(IEnumerable<EntityEntry> entries)
    {
        var kinds = ChangedWork.None;
        foreach (var entry in entries)
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted)) continue;
            kinds |= entry.Entity switch
            {
                TrainingRun when entry.State != EntityState.Modified || entry.Property(nameof(TrainingRun.Status)).IsModified
                    || entry.Property(nameof(TrainingRun.FailureReason)).IsModified => ChangedWork.Trains,
                ModelSave => ChangedWork.Saves,
                ModelDeployment => ChangedWork.Deployments,
                CustomizedModel or CompleteModel => ChangedWork.Models,
                HubDownloads.HubDownload => ChangedWork.Downloads,
                Evaluations.Evaluation => ChangedWork.Evaluations,
                _ => ChangedWork.None,
            };
        }
        return kinds;
    }

    /// <summary>Raises the changes of every successful SaveChanges of the contexts it is added to.</summary>
    public sealed class Interceptor(WorkChanges changes) : SaveChangesInterceptor
    {
        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
        {
            Collect(eventData);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
            CancellationToken cancellationToken = default)
        {
            Collect(eventData);
            return ValueTask.FromResult(result);
        }

        public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
        {
            Publish(eventData);
            return result;
        }

        public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            Publish(eventData);
            return ValueTask.FromResult(result);
        }

        private void Collect(DbContextEventData eventData)
        {
            if (eventData.Context is { } context) Pending(context).Kinds = KindsOf(context.ChangeTracker.Entries());
        }

        private void Publish(DbContextEventData eventData)
        {
            if (eventData.Context is not { } context) return;
            var pending = Pending(context);
            var kinds = pending.Kinds;
            pending.Kinds = ChangedWork.None;
            changes.Raise(kinds);
        }

        private static PendingKinds Pending(DbContext context) => Table.GetValue(context, _ => new PendingKinds());

        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbContext, PendingKinds> Table = [];

        private sealed class PendingKinds
        {
            public ChangedWork Kinds { get; set; }
        }
    }

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}

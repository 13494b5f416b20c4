namespace DeepExtension.Core.Work;

/// <summary>The kinds of background work; each has its entity, its job and its queue group.</summary>
public enum WorkKind
{
    /// <summary>A <see cref="Runs.TrainingRun"/>.</summary>
    Train,
    /// <summary>A <see cref="CompleteModels.ModelSave"/>.</summary>
    Save,
    /// <summary>A <see cref="Deployment.ModelDeployment"/>.</summary>
    Deploy,
    /// <summary>A <see cref="HubDownloads.HubDownload"/>.</summary>
    Download,
    /// <summary>An <see cref="Evaluations.Evaluation"/>.</summary>
    Evaluate,
}

/// <summary>
/// Queues work items for execution (Quartz's persistent store in the app; a recorder in tests). One queue for
/// every kind: the kind says which job runs the item.
/// </summary>
public interface IWorkQueue
{
    Task EnqueueAsync(WorkKind kind, Guid id, CancellationToken cancellationToken);

    /// <summary>Removes a queued item's job. False when there was none.</summary>
    Task<bool> RemoveAsync(WorkKind kind, Guid id, CancellationToken cancellationToken);

    /// <summary>Whether the item has a job in the queue (waiting or executing).</summary>
    Task<bool> ContainsAsync(WorkKind kind, Guid id, CancellationToken cancellationToken);
}

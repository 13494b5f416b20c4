namespace DeepExtension.Core.Work;

/// <summary>Where a work item (run, save, deployment) stands. Stored as its name, as the three former enums were.</summary>
public enum WorkStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// The lifecycle every kind of background work shares: Queued → Running → Succeeded / Failed / Cancelled, with the
/// time it was created, last queued, first started and finished, how many times a job started it, and why it failed.
/// The transitions live here so that runs, saves and deployments move the same way; each kind adds what its own
/// columns need through the On… hooks. Mapped to each entity's own table (no table of its own).
/// </summary>
public abstract class WorkItem
{
    public Guid Id { get; set; }
    public WorkStatus Status { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    /// <summary>Who created it (their email); null for rows from before accounts existed and for the system.</summary>
    public string? CreatedBy { get; set; }
    /// <summary>When it last entered the queue: creation, a resume, or a console stop that put it back.</summary>
    public DateTime QueuedAtUtc { get; set; }
    /// <summary>The first start; a resumed item keeps it.</summary>
    public DateTime? StartedAtUtc { get; set; }
    public DateTime? FinishedAtUtc { get; set; }

    /// <summary>
    /// Duration: wall-clock time from the start (its first start, for resumed work) to the finish, or to
    /// <paramref name="utcNow"/> while it runs; null before it starts. Every page shows this one number under this one word.
    /// </summary>
    public TimeSpan? Duration(DateTime utcNow) => StartedAtUtc is { } started ? (FinishedAtUtc ?? utcNow) - started : null;
    public string? FailureReason { get; set; }
    /// <summary>How many times a job started it (resumes and restarts count).</summary>
    public int Attempts { get; set; }

    public abstract WorkKind Kind { get; }

    public bool IsFinished => Status is WorkStatus.Succeeded or WorkStatus.Failed or WorkStatus.Cancelled;

    /// <summary>The failure reason column's length.</summary>
    protected virtual int FailureReasonMaxLength => 2000;

    /// <summary>New, or back in the queue (resume, interrupted by a stop): waits for its job.</summary>
    public void Enqueue(DateTime nowUtc)
    {
        Status = WorkStatus.Queued;
        QueuedAtUtc = nowUtc;
        FailureReason = null;
        FinishedAtUtc = null;
        OnQueued();
    }

    /// <summary>A job starts (or restarts) it. False when it is finished and so no longer meant to run.</summary>
    public bool Start(DateTime nowUtc)
    {
        if (IsFinished) return false;
        Status = WorkStatus.Running;
        StartedAtUtc ??= nowUtc;
        Attempts++;
        OnStarted();
        return true;
    }

    /// <summary>Ends it with <paramref name="outcome"/>. False when it had already ended (the first outcome stands).</summary>
    public bool Finish(WorkStatus outcome, string? failureReason, DateTime nowUtc)
    {
        if (outcome is WorkStatus.Queued or WorkStatus.Running) throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "An outcome ends the work.");
        if (IsFinished) return false;
        Status = outcome;
        FailureReason = failureReason is null ? null
            : failureReason.Length > FailureReasonMaxLength ? failureReason[..FailureReasonMaxLength] : failureReason;
        FinishedAtUtc = nowUtc;
        OnFinished(outcome);
        return true;
    }

    protected virtual void OnQueued()
    {
    }

    protected virtual void OnStarted()
    {
    }

    protected virtual void OnFinished(WorkStatus outcome)
    {
    }
}

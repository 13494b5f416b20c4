namespace DeepExtension.Jobs.Work;

/// <summary>
/// How a worker process ended, and the one list of the worker's exit codes and of the words a failed exit is
/// reported in (a run's, a save's and a deployment's failure reason all come from here).
/// </summary>
/// <param name="OutOfMemory">Whether the kernel's out-of-memory killer killed it (its cgroup's counter rose): null when unknown.</param>
public sealed record WorkerExit(int ExitCode, bool Interrupted, string? LastError, bool? OutOfMemory = null)
{
    public const int Succeeded = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    /// <summary>The user cancelled (a training run stopped at a step boundary and kept a checkpoint).</summary>
    public const int Cancelled = 3;
    /// <summary>SIGTERM/SIGINT from outside: a training worker saved a checkpoint first.</summary>
    public const int Stopped = 4;
    /// <summary>Another owner holds the item's lease: the worker did not run (or stopped) without writing anything.</summary>
    public const int LeaseLost = 5;

    public const string NoOutput = "The worker reported success but wrote no {0}.";

    /// <summary>Why the exit is a failure: the cause of the code and the worker's last error line.</summary>
    public string FailureReason => Describe(ExitCode, OutOfMemory) + (LastError is null ? "." : $": {LastError}");

    /// <summary>The reason when the worker process could not even be started.</summary>
    public static string NotStarted(Exception ex) => $"The worker could not be started: {ex.Message}";

    /// <summary>The reason when a worker exits with success but its output is missing.</summary>
    public static string MissingOutput(string what) => string.Format(System.Globalization.CultureInfo.InvariantCulture, NoOutput, what);

    /// <summary>
    /// Readable cause of an exit code (128 + signal on Unix). "Out of memory" only when the kernel's out-of-memory
    /// killer is known to have killed it (<paramref name="outOfMemory"/>); otherwise a kill names its signal and says
    /// that who sent it is unknown.
    /// </summary>
    public static string Describe(int exitCode, bool? outOfMemory = null) => exitCode switch
    {
        Stopped => "The worker was stopped from outside (SIGTERM) after saving a checkpoint; Resume continues it",
        LeaseLost => "the worker stopped because another process owns this work now (its lease was taken)",
        137 when outOfMemory == true => "the worker ran out of memory: the kernel's out-of-memory killer ended it (SIGKILL); " +
            "lower the batch size or max tokens and resume from the last checkpoint",
        137 when outOfMemory == false => "the worker was killed (SIGKILL), not by the kernel's out-of-memory killer (its counter did not rise); who sent it is unknown",
        137 => "the worker was killed (SIGKILL); who sent it is unknown (no out-of-memory counter could be read)",
        139 => "the worker crashed (segmentation fault in native code)",
        134 => "the worker aborted (SIGABRT in native code)",
        143 => "the worker was terminated (SIGTERM) from outside; who sent it is unknown",
        > 128 and < 160 => $"the worker died from signal {exitCode - 128}; who sent it is unknown",
        _ => $"the worker exited with code {exitCode}",
    };
}

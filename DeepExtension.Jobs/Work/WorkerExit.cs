namespace DeepExtension.Jobs.Work;

/// <summary>
/// How a worker process ended, and the one list of the worker's exit codes and of the words a failed exit is
/// reported in (a run's, a save's and a deployment's failure reason all come from here).
/// </summary>
public sealed record WorkerExit(int ExitCode, bool Interrupted, string? LastError)
{
    public const int Succeeded = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    /// <summary>The user cancelled (a training run stopped at a step boundary and kept a checkpoint).</summary>
    public const int Cancelled = 3;
    /// <summary>SIGTERM/SIGINT from outside: a training worker saved a checkpoint first.</summary>
    public const int Stopped = 4;

    public const string NoOutput = "The worker reported success but wrote no {0}.";

    /// <summary>Why the exit is a failure: the cause of the code and the worker's last error line.</summary>
    public string FailureReason => Describe(ExitCode) + (LastError is null ? "." : $": {LastError}");

    /// <summary>The reason when the worker process could not even be started.</summary>
    public static string NotStarted(Exception ex) => $"The worker could not be started: {ex.Message}";

    /// <summary>The reason when a worker exits with success but its output is missing.</summary>
    public static string MissingOutput(string what) => string.Format(System.Globalization.CultureInfo.InvariantCulture, NoOutput, what);

    /// <summary>Readable cause of an exit code (128 + signal on Unix).</summary>
    public static string Describe(int exitCode) => exitCode switch
    {
        Stopped => "The worker was stopped from outside (SIGTERM) after saving a checkpoint; Resume continues it",
        137 => "the worker was killed (SIGKILL), most often by the system running out of memory",
        139 => "the worker crashed (segmentation fault in native code)",
        134 => "the worker aborted (SIGABRT in native code)",
        143 => "the worker was terminated (SIGTERM)",
        > 128 and < 160 => $"the worker died from signal {exitCode - 128}",
        _ => $"the worker exited with code {exitCode}",
    };
}

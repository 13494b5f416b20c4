using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepExtension.Jobs.HubDownloads;

/// <summary>
/// Executes one Hub download inside the console (no worker process: it is I/O, not native code). The files go to
/// &lt;target&gt;.partial/ under the models root, several at a time; each is written as &lt;name&gt;.incomplete, resumed
/// with a range request after a dropped connection or a console stop, verified against the checksum the Hub published
/// (LFS sha256, or the git blob id of a small file) and only then given its name. When every file is in, the folder is
/// renamed to its target and registered as a base model with its repository and commit. A failure or a cancel deletes
/// what was written; a console stop keeps it and puts the download back in the queue.
/// </summary>
public sealed class HubDownloadJob(
    WorkStore store,
    HubDownloadService downloads,
    HubClient hub,
    BaseModelService baseModels,
    IOptions<DeepExtensionOptions> options,
    ILogger<HubDownloadJob> logger) : WorkJob<HubDownload>(store, logger)
{
    public const string IncompleteSuffix = ".incomplete";
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan SpeedWindow = TimeSpan.FromSeconds(5);

    private HubOptions Hub => options.Value.HuggingFace;

    protected override async Task RunAsync(HubDownload download, CancellationToken stopping)
    {
        var id = download.Id;
        var log = Fenced(downloads.LogOf(id));
        var target = downloads.TargetFolderOf(download);
        var partial = DataDirectories.PartialOf(target);
        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var token = downloads.TokenOf(download);
        var progress = new DownloadProgress(download.Files.Count);

        try
        {
            Directory.CreateDirectory(partial);
            var onDisk = download.Files.Sum(f => BytesOnDisk(partial, f));
            progress.Add(onDisk);
            log.Append(RunLogLevel.Info, onDisk > 0
                ? $"Resuming {download.Repository} at {Short(download.Commit)}: {ByteSize.Format(onDisk)} of {ByteSize.Format(download.TotalBytes)} already on disk"
                : $"Fetching {download.Files.Count} files ({ByteSize.Format(download.TotalBytes)}) of {download.Repository} at {Short(download.Commit)}");

            var reporting = ReportUntilDoneAsync(id, progress, download, cancelled);
            try
            {
                // Largest first, so the long transfers start at once and the small files fill the gaps.
                await Parallel.ForEachAsync(download.Files.OrderByDescending(f => f.Size),
                    new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Hub.ParallelFiles), CancellationToken = cancelled.Token },
                    async (file, ct) =>
                    {
                        await FetchAsync(download, file, partial, token, progress, log, ct);
                        progress.FileDone();
                    });
            }
            finally
            {
                progress.Finish();
                await reporting;
            }

            await downloads.ReportAsync(id, download.TotalBytes, null, "Registering the base model", CancellationToken.None);
            if (Directory.Exists(target))
                throw new DownloadFailedException($"{download.TargetPath} appeared under the models root while the download ran; nothing was replaced. Remove or rename it and download again.");
            Directory.Move(partial, target);
            log.Append(RunLogLevel.Info, $"All {download.Files.Count} files verified; the folder is {download.TargetPath}");

            var registered = await baseModels.RegisterDownloadedAsync(
                new BaseModelInput(download.TechnicalName, download.ModelName, download.TargetPath, null),
                new BaseModelSource(download.Repository, download.Commit), download.CreatedBy, CancellationToken.None);
            if (!registered.Succeeded)
            {
                // The folder is a whole, verified model: it stays, so the user can register it by hand.
                var reason = $"The files are complete in {download.TargetPath}, but registering the base model failed: {registered.AllErrors} Register the folder with Add.";
                log.Append(RunLogLevel.Error, reason);
                await FailAsync(id, reason);
                return;
            }
            await downloads.SucceedAsync(id, registered.Value!.Id, CancellationToken.None);
            log.Append(RunLogLevel.Info, $"Registered base model {download.TechnicalName}");
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // The bytes on disk stay: the next start resumes each file where it stopped.
            log.Append(RunLogLevel.Warning, "The console is stopping; the download continues where it stopped when the console starts again.");
            await downloads.RequeueAsync(id, CancellationToken.None);
        }
        catch (Exception) when (cancelled.IsCancellationRequested)
        {
            Folders.DeleteQuietly(partial);
            log.Append(RunLogLevel.Warning, "Cancelled; the files written so far were deleted.");
        }
        catch (Exception ex) when (ex is HubException or DownloadFailedException or IOException or UnauthorizedAccessException)
        {
            Folders.DeleteQuietly(partial);
            log.Append(RunLogLevel.Error, ex.Message);
            await FailAsync(id, ex.Message);
        }
    }

    /// <summary>Reports bytes, speed and stage every 400 ms until the transfers end; cancels them when the row was cancelled.</summary>
    private async Task ReportUntilDoneAsync(Guid id, DownloadProgress progress, HubDownload download, CancellationTokenSource cancelled)
    {
        var samples = new Queue<(TimeSpan At, long Bytes)>();
        var clock = Stopwatch.StartNew();
        while (!progress.IsFinished)
        {
            await progress.WaitAsync(ReportInterval);
            var now = clock.Elapsed;
            var done = progress.Bytes;
            samples.Enqueue((now, done));
            while (samples.Count > 1 && now - samples.Peek().At > SpeedWindow) samples.Dequeue();
            var (firstAt, firstBytes) = samples.Peek();
            double? speed = now - firstAt > TimeSpan.FromMilliseconds(300) ? (done - firstBytes) / (now - firstAt).TotalSeconds : null;
            var stage = $"Downloading {download.Repository}: {progress.FilesDone} of {download.Files.Count} files verified";
            bool running;
            try
            {
                running = await downloads.ReportAsync(id, Math.Min(done, download.TotalBytes), speed, stage, CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not record the progress of download {Id}", id);
                continue;
            }
            if (!running && !cancelled.IsCancellationRequested)
            {
                await cancelled.CancelAsync();
                return;
            }
        }
    }

    /// <summary>Fetches one file into the partial folder (resuming what is there), verifies it and gives it its name.</summary>
    private async Task FetchAsync(HubDownload download, HubFile file, string partial, string? token, DownloadProgress progress, WorkLog log, CancellationToken ct)
    {
        var final = Path.Combine(partial, file.Name);
        if (File.Exists(final)) return; // Verified before a stop.
        var incomplete = final + IncompleteSuffix;
        for (var attempt = 1; ; attempt++)
        {
            var have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (have > file.Size)
            {
                progress.Add(-have);
                File.Delete(incomplete);
                have = 0;
            }
            try
            {
                if (have < file.Size) await TransferAsync(download, file, incomplete, have, token, progress, ct);
                break;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && attempt < Hub.MaxAttempts && IsTransient(ex, out var retryAfter))
            {
                var wait = retryAfter ?? Hub.RetryDelay * Math.Pow(2, attempt - 1);
                if (wait > TimeSpan.FromMinutes(5)) wait = TimeSpan.FromMinutes(5);
                if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
                log.Append(RunLogLevel.Warning, $"{file.Name}: {ex.Message} Trying again in {DisplayFormat.Duration(wait)} (try {attempt + 1} of {Hub.MaxAttempts}).");
                await Task.Delay(wait, ct);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && IsTransient(ex, out _))
            {
                throw new DownloadFailedException($"{file.Name} could not be fetched after {Hub.MaxAttempts} tries: {ex.Message}");
            }
        }

        if (!File.Exists(incomplete)) File.Create(incomplete).Dispose(); // An empty file needs no transfer.
        if (await VerifyAsync(file, incomplete, ct) is { } mismatch)
        {
            progress.Add(-file.Size);
            File.Delete(incomplete);
            throw new DownloadFailedException(mismatch);
        }
        File.Move(incomplete, final);
        log.Append(RunLogLevel.Info, $"{file.Name}: {ByteSize.Format(file.Size)} verified ({(file.IsLfs ? "LFS sha256" : "git blob id")})");
    }

    private async Task TransferAsync(HubDownload download, HubFile file, string incomplete, long have, string? token, DownloadProgress progress, CancellationToken ct)
    {
        await using var response = await hub.OpenFileAsync(download.Repository, download.Commit, file.Name, token, have, ct);
        await using var output = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        if (response.Offset != have)
        {
            // The server sent the whole file instead of the rest: start the file over.
            progress.Add(-have);
            have = response.Offset;
        }
        output.SetLength(have);
        output.Position = have;
        var buffer = new byte[1 << 16];
        var written = have;
        int read;
        while ((read = await response.Content.ReadAsync(buffer, ct)) > 0)
        {
            if (written + read > file.Size) throw new DownloadFailedException($"The Hub sent more than the {ByteSize.Format(file.Size)} it published for {file.Name}.");
            await output.WriteAsync(buffer.AsMemory(0, read), ct);
            written += read;
            progress.Add(read);
        }
        await output.FlushAsync(ct);
        if (written < file.Size)
            throw new HubException($"The connection ended after {ByteSize.Format(written)} of {ByteSize.Format(file.Size)}.", HubFailure.Transport);
    }

    /// <summary>Null when the file matches what the Hub published, else why not.</summary>
    public static async Task<string?> VerifyAsync(HubFile file, string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        if (file.Sha256 is { } expected)
        {
            var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            return string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase) ? null
                : $"{file.Name} failed verification: its SHA-256 is {actual}, but the Hub publishes {expected}. The file was deleted; download again (if it fails again, the server sends a damaged copy).";
        }
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {stream.Length}\0"));
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await stream.ReadAsync(buffer, ct)) > 0) sha1.AppendData(buffer, 0, read);
        var blob = Convert.ToHexStringLower(sha1.GetHashAndReset());
        return string.Equals(blob, file.BlobId, StringComparison.OrdinalIgnoreCase) ? null
            : $"{file.Name} failed verification: its git blob id is {blob}, but the Hub publishes {file.BlobId}. The file was deleted; download again.";
    }

    private static bool IsTransient(Exception ex, out TimeSpan? retryAfter)
    {
        retryAfter = (ex as HubException)?.RetryAfter;
        return ex is HubException { IsTransient: true } || ex is IOException and not FileNotFoundException and not DirectoryNotFoundException || ex is HttpRequestException;
    }

    private static long BytesOnDisk(string partial, HubFile file)
    {
        var final = Path.Combine(partial, file.Name);
        if (File.Exists(final)) return file.Size;
        var incomplete = final + IncompleteSuffix;
        return File.Exists(incomplete) ? Math.Min(new FileInfo(incomplete).Length, file.Size) : 0;
    }

    private static string Short(string commit) => commit.Length > 10 ? commit[..10] : commit;

    /// <summary>Bytes and files done, shared by the parallel transfers and the reporter.</summary>
    private sealed class DownloadProgress(int files)
    {
        private long _bytes;
        private int _filesDone;
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Bytes => Interlocked.Read(ref _bytes);
        public int FilesDone => Volatile.Read(ref _filesDone);
        public int Files => files;
        public bool IsFinished => _finished.Task.IsCompleted;

        public void Add(long bytes) => Interlocked.Add(ref _bytes, bytes);
        public void FileDone() => Interlocked.Increment(ref _filesDone);
        public void Finish() => _finished.TrySetResult();

        public Task WaitAsync(TimeSpan interval) => Task.WhenAny(_finished.Task, Task.Delay(interval));
    }
}

/// <summary>A download failure with a reason for the user (verification, a file that appeared, tries exhausted).</summary>
public sealed class DownloadFailedException(string message) : Exception(message);

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Data;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using Microsoft.Playwright;

namespace DeepExtension.Bench;

/// <summary>
/// Compare of N runs × S steps, opened in Debian's Chromium against the real console (its Release build, started as a
/// process over a data root seeded here through the real services): time from navigation start until every chart has
/// drawn a line per run, and the bytes the page received over its Blazor circuit. See bench/README.md.
/// </summary>
internal static class CompareLoadBench
{
    private sealed class NoScheduler : IWorkQueue
    {
        public Task EnqueueAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<bool> RemoveAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.FromResult(true);

        public Task<bool> ContainsAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.FromResult(false);
    }

    private static readonly string[] Charts = ["loss", "eval-loss", "learning-rate", "grad-norm", "tokens-per-second"];

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args);
        var runCount = options.Int("runs", 3);
        var steps = options.Int("steps", 100_000);
        var rounds = options.Int("rounds", 3);
        // The baseline of before snapshots: every round's first open parses the JSON.
        var dropSnapshots = options.Get("drop-snapshots", "false") == "true";
        // How the page is opened: "full" loads its URL (a bookmark, a shared link, a refresh); "in-app" follows a link
        // from the trains list inside the running app (the Compare button), which keeps the page's circuit.
        var inApp = options.Get("open", "full") == "in-app";
        var web = Path.GetFullPath(options.Get("web", "DeepExtension.Web/bin/Release/net10.0/DeepExtension.Web.dll"));
        var model = Path.GetFullPath(options.Get("model", "DeepExtension.Tests/TestData/reference-models/tiny-qwen2"));
        var chromium = options.Get("chromium", Environment.GetEnvironmentVariable("DEEPX_CHROMIUM") is { Length: > 0 } c ? c : "/usr/bin/chromium");
        if (!File.Exists(web)) throw new FileNotFoundException($"Build the console first: dotnet build -c Release DeepExtension.Web ({web} is missing)");

        var root = Directory.CreateTempSubdirectory("deepx-compare-bench-").FullName;
        try
        {
            Console.Error.WriteLine($"seeding {runCount} runs × {steps:N0} steps under {root}");
            var seedClock = Stopwatch.StartNew();
            // Experiment: the whole page (charts included) opened once on two small runs before the first open, so what
            // is left of a first open is reading the histories, not compiling the page's code.
            var warmSmall = options.Get("warm-small", "false") == "true";
            var allIds = await SeedAsync(root, model, [.. Enumerable.Repeat(steps, runCount), .. (warmSmall ? new[] { 2000, 2000 } : [])]);
            var ids = allIds.Take(runCount).ToList();
            var metricsBytes = ids.Sum(id => new FileInfo(Path.Combine(root, "runs", id.ToString("N"), "metrics.jsonl")).Length);
            Console.Error.WriteLine($"seeded in {seedClock.Elapsed.TotalSeconds:0.0} s");

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"],
            });
            var path = "/model-training/compare?runs=" + string.Join(",", ids);
            var results = new List<(int Round, string Open, double Ms, long Bytes, int Drawn, double[] Phases)>();
            for (var round = 1; round <= rounds; round++)
            {
                if (dropSnapshots)
                {
                    foreach (var id in ids) File.Delete(new RunFiles(Path.Combine(root, "runs", id.ToString("N"))).MetricsSnapshotPath);
                }
                var port = FreePort();
                using var console = StartConsole(web, root, port, options.Get("console-setting", ""));
                var address = $"http://127.0.0.1:{port}";
                await WaitForHealthAsync(address, console);
                // First open after the console started: the histories are read from disk (and code is JIT-compiled). The
                // seeded files have no metrics snapshot, so round 1's first open parses the JSON (the very first parse ever;
                // the console writes the snapshots after drawing); later rounds are a console restart over existing runs.
                if (options.Get("warm-page", "false") == "true")
                {
                    // Experiment: the page's code run once (on runs that do not exist) before the first open.
                    var warm = await browser.NewContextAsync();
                    var warmPage = await warm.NewPageAsync();
                    await SignInAsync(warmPage, address);
                    await warmPage.GotoAsync(address + "/model-training/compare?runs=" + Guid.NewGuid() + "," + Guid.NewGuid());
                    await Task.Delay(1500);
                    await warm.CloseAsync();
                }
                if (warmSmall)
                {
                    await OpenAsync(browser, address + "/model-training/compare?runs=" + string.Join(",", allIds.Skip(runCount)), 2, allIds[runCount], inApp, ["run-" + (runCount + 1), "run-" + (runCount + 2)]);
                    foreach (var context in browser.Contexts.ToList()) await context.CloseAsync();
                }
                var snapshots = ids.Count(id => File.Exists(new RunFiles(Path.Combine(root, "runs", id.ToString("N"))).MetricsSnapshotPath));
                var first = await OpenAsync(browser, address + path, runCount, ids[0], inApp, [.. Enumerable.Range(1, runCount).Select(i => "run-" + i)]);
                results.Add((round, snapshots == ids.Count ? "first after restart (snapshots read)" : $"first ever (JSON parsed, {ids.Count - snapshots} snapshots written)",
                    first.Ms, first.Bytes, first.Drawn, first.Phases));
                // Second open while the first page is still connected: the live store shares the loaded histories.
                var second = await OpenAsync(browser, address + path, runCount, ids[0], inApp, [.. Enumerable.Range(1, runCount).Select(i => "run-" + i)]);
                results.Add((round, "second (histories shared)", second.Ms, second.Bytes, second.Drawn, second.Phases));
                // Pages left open would keep reconnecting to the killed console and load the next round.
                foreach (var context in browser.Contexts.ToList()) await context.CloseAsync();
                console.Kill(entireProcessTree: true);
                await console.WaitForExitAsync();
            }

            // The server's part of a first open, in this process: one history from its snapshot, and parsed from its JSON.
            var timedRun = new RunFiles(Path.Combine(root, "runs", ids[0].ToString("N")));
            // Each read twice, the second timed: the first one JIT-compiles the readers.
            MetricHistory fromSnapshot = null!, fromJson = null!;
            double snapshotMs = 0, jsonMs = 0, firstSnapshotMs = 0;
            for (var pass = 0; pass < 2; pass++)
            {
                var snapshotClock = Stopwatch.StartNew();
                fromSnapshot = MetricsFile.ReadHistory(timedRun);
                snapshotMs = snapshotClock.Elapsed.TotalMilliseconds;
                if (pass == 0) firstSnapshotMs = snapshotMs;
                var jsonClock = Stopwatch.StartNew();
                fromJson = new MetricHistory();
                long offset = 0, before;
                do
                {
                    before = offset;
                    MetricsFile.ReadNew(timedRun, ref offset, fromJson);
                }
                while (offset != before);
                jsonMs = jsonClock.Elapsed.TotalMilliseconds;
            }
            if (fromJson.Summary != fromSnapshot.Summary) throw new InvalidOperationException("the snapshot's history differs from the JSON's");

            foreach (var line in Machine.Describe()) Console.WriteLine($"- {line}");
            Console.WriteLine($"- Chromium: {browser.Version}; console: Release build, Kestrel on loopback, SQLite");
            Console.WriteLine(inApp
                ? "- opened in the app: the three runs selected on the trains list (its page loaded and connected), then its Compare button clicked; times from the click"
                : "- opened by loading its URL (as a bookmark, a shared link or a refresh does); times from navigation start");
            Console.WriteLine($"- history: {runCount} runs × {steps:N0} steps, metrics.jsonl {metricsBytes / 1048576.0:0.0} MiB in all; {Charts.Length} charts × {runCount} lines");
            Console.WriteLine($"- one run's history ({fromJson.Count:N0} rows) read in the bench process: from metrics.snapshot ({new FileInfo(timedRun.MetricsSnapshotPath).Length / 1048576.0:0.0} MiB) {snapshotMs:0} ms ({firstSnapshotMs:0} ms the first time in this process), parsed from metrics.jsonl ({new FileInfo(timedRun.MetricsPath).Length / 1048576.0:0.0} MiB) {jsonMs:0} ms");
            Console.WriteLine();
            Console.WriteLine($"| Round | Open | {(inApp ? "Click" : "Navigation start")} → every chart drawn (ms) | page loaded / first chart created / last data / last drawn (ms) | Bytes received over the circuit | Points drawn per line (loss chart) |");
            Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
            foreach (var r in results)
            {
                Console.WriteLine($"| {r.Round} | {r.Open} | {r.Ms:0} | {string.Join(" / ", r.Phases.Select((p, i) => inApp && i == 0 ? "—" : p.ToString("0")))} | {r.Bytes / 1024.0:N0} KiB | {r.Drawn:N0} |");
            }
            Console.WriteLine();
            Console.WriteLine($"- load average at end: {Machine.LoadAverage()}");
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task SignInAsync(IPage page, string address)
    {
        await page.GotoAsync(new Uri(new Uri(address), "/account/sign-in?ReturnUrl=%2F").ToString());
        await page.Locator("#email").FillAsync(AdminEmail);
        await page.Locator("#password").FillAsync(AdminPassword);
        await page.Locator("[data-testid=sign-in]").ClickAsync();
        await page.WaitForURLAsync(u => !u.Contains("/account/sign-in", StringComparison.Ordinal));
    }

    /// <summary>Opens the page and waits until each chart draws a line per run; returns the time since navigation start (the page's clock), the bytes received over WebSockets and the loss chart's drawn points per line.</summary>
    private static async Task<(double Ms, long Bytes, int Drawn, double[] Phases)> OpenAsync(IBrowser browser, string url, int runs, Guid first, bool inApp, IReadOnlyList<string> names)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 900 } });
        var page = await context.NewPageAsync();
        // Everything is behind sign-in: sign in first (landing on Home), then count only the sockets Compare opens.
        await SignInAsync(page, url);
        long bytes = 0;
        page.WebSocket += (_, socket) => socket.FrameReceived += (_, frame) =>
            Interlocked.Add(ref bytes, frame.Binary?.Length ?? Encoding.UTF8.GetByteCount(frame.Text ?? ""));
        double start = 0;
        if (inApp)
        {
            // As a user opens it: from the trains list (its circuit up), a link handled by the app's router, no page load.
            await page.GotoAsync(new Uri(new Uri(url), "/model-training").ToString());
            foreach (var name in names)
            {
                // A click before the list is interactive selects nothing: click until the row counts as selected.
                var selected = page.Locator($"[aria-label='Select {name}']");
                for (var attempt = 0; attempt < 100 && !await selected.IsCheckedAsync(); attempt++)
                {
                    await selected.ClickAsync();
                    await Task.Delay(100);
                }
            }
            await page.Locator("[data-testid=runs-selected-count]").Filter(new() { HasText = $"{names.Count} selected" }).WaitForAsync();
            start = await page.EvaluateAsync<double>("() => { const t = performance.now(); document.querySelector('[data-testid=compare-runs]').click(); return t; }");
        }
        else
        {
            await page.GotoAsync(url);
        }
        var keys = string.Join(",", Charts.Select(k => $"'{k}'"));
        var ms = await page.EvaluateAsync<double>($$"""
            () => new Promise((resolve, reject) => {
                setTimeout(() => reject(new Error('the charts were not all drawn within 60 s')), 60000);
                const keys = [{{keys}}];
                const done = () => keys.every(k => {
                    const id = document.querySelector(`[data-testid=chart-${k}] [data-chart-id]`)?.dataset.chartId;
                    const d = id && window.deepxCharts?.describe(id);
                    return d && d.series.length === {{runs}} && document.querySelector(`[data-testid=chart-${k}] .apexcharts-series path`);
                });
                const check = () => done() ? resolve(performance.now() - {{start}}) : requestAnimationFrame(check);
                check();
            })
            """);
        var lossId = await page.Locator("[data-testid=chart-loss] [data-chart-id]").GetAttributeAsync("data-chart-id");
        var drawn = await page.EvaluateAsync<int>("([id, source]) => window.deepxCharts.renderedCount(id, source)", new[] { lossId, first.ToString("N") });
        // Where the time went: the page loaded (server render + scripts), the first chart created (circuit up, histories
        // loaded), the last chart's data arrived (server reduction), the last chart drawn (ApexCharts).
        var phases = await page.EvaluateAsync<double[]>("""
            start => {
                const t = window.deepxCharts.timings();
                const nav = performance.getEntriesByType('navigation')[0];
                return [start ? 0 : nav.domContentLoadedEventEnd, Math.min(...t.map(x => x.created)) - start, Math.max(...t.map(x => x.data)) - start, Math.max(...t.map(x => x.drawn)) - start];
            }
            """, start);
        await Task.Delay(200);
        return (ms, Interlocked.Read(ref bytes), drawn, phases);
    }

    private static async Task<List<Guid>> SeedAsync(string root, string modelFolder, IReadOnlyList<int> stepsPerRun)
    {
        var options = new DeepExtensionOptions { DataRoot = root };
        var directories = new DataDirectories(options);
        directories.EnsureCreated();
        var database = new DatabaseSetup(options, directories);
        await database.MigrateAsync();
        var db = database.CreateFactory();
        var clock = TimeProvider.System;

        var modelPath = Path.Combine(directories.ModelsRoot, "tiny-qwen2");
        Directory.CreateDirectory(modelPath);
        foreach (var file in Directory.GetFiles(modelFolder)) File.Copy(file, Path.Combine(modelPath, Path.GetFileName(file)));
        var model = (await new BaseModelService(db, directories, clock).CreateAsync(new BaseModelInput("tiny-qwen2", "tiny-qwen2", "tiny-qwen2", null))).Value
            ?? throw new InvalidOperationException("the model could not be registered");
        var jsonl = string.Join("\n", Enumerable.Range(0, 20).Select(i =>
            $$"""{"messages":[{"role":"user","content":"What is {{i}} plus one?"},{"role":"assistant","content":"{{i + 1}}"}]}""")) + "\n";
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(jsonl));
        var version = (await new DatasetService(db, directories, clock).CreateAsync("facts", null, new DatasetUpload(content, "facts.jsonl"))).Value!.Version;
        var method = (await new TrainingMethodService(db, clock).ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Sft);
        var runs = new TrainingRunService(db, directories, new NoScheduler(), clock);

        var ids = new List<Guid>();
        for (var r = 0; r < stepsPerRun.Count; r++)
        {
            var steps = stepsPerRun[r];
            var run = (await runs.StartAsync(new NewTrainRequest($"run-{r + 1}", model.Id, version.Id, method.Id,
                new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64, ["learning_rate"] = 1e-4 * (r + 1) }, "cpu"))).Value!;
            await runs.MarkRunningAsync(run.Id);
            var files = runs.FilesOf(run);
            var random = new Random(r + 1);
            await using (var writer = new StreamWriter(files.MetricsPath, append: false, new UTF8Encoding(false)))
            {
                for (var step = 1; step <= steps; step++)
                {
                    var loss = 2.5 * Math.Exp(-step / (30000.0 / (r + 1))) + 0.3 + 0.1 * (random.NextDouble() - 0.5) + (step % 5000 == 0 ? 3 : 0);
                    var values = new Dictionary<string, double>
                    {
                        ["loss"] = loss,
                        ["learning_rate"] = 1e-4 * (r + 1) * (1 - (double)step / steps),
                        ["grad_norm"] = 1 + random.NextDouble(),
                        ["tokens_per_second"] = 900 + 100 * random.NextDouble(),
                        ["eta_seconds"] = (steps - step) * 0.4,
                    };
                    await writer.WriteLineAsync(new MetricPoint(step, step / 1000.0, step * 0.4, values) { TotalSteps = steps }.ToJsonLine());
                    if (step % 1000 == 0)
                    {
                        await writer.WriteLineAsync(new MetricPoint(step, step / 1000.0, step * 0.4,
                            new Dictionary<string, double> { ["eval_loss"] = loss + 0.1 }) { TotalSteps = steps }.ToJsonLine());
                    }
                }
            }
            await runs.UpdateSummaryAsync(run.Id, RunSummary.Of(MetricsFile.ReadAll(files)));
            await runs.FinishAsync(run.Id, WorkStatus.Succeeded, null);
            ids.Add(run.Id);
        }
        return ids;
    }

    private const string AdminEmail = "bench@deepx.local";
    private const string AdminPassword = "Bench-Passw0rd!";

    /// <param name="setting">one more configuration value for the console, "Key=Value" (an A/B switch), or ""</param>
    private static Process StartConsole(string web, string root, int port, string setting)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(web)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { web, $"--DeepExtension:DataRoot={root}", $"--Urls=http://127.0.0.1:{port}", "--DeepExtension:Scheduler:Enabled=false" })
        {
            start.ArgumentList.Add(arg);
        }
        if (setting.Length > 0) start.ArgumentList.Add("--" + setting);
        // Development: a build (not a publish) serves the packages' static web assets (MudBlazor) only with their manifest,
        // which ASP.NET Core reads in Development.
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        // The first Admin, created at start-up (unattended set-up), whom the browser signs in as.
        start.Environment["DeepExtension__Setup__AdminEmail"] = AdminEmail;
        start.Environment["DeepExtension__Setup__AdminPassword"] = AdminPassword;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Console.Error.WriteLine($"console: {line}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForHealthAsync(string address, Process console)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (console.HasExited) throw new InvalidOperationException($"the console exited with {console.ExitCode}");
            try
            {
                if ((await client.GetAsync(address + "/health/live")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("the console did not answer /health/live within 60 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

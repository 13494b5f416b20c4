using System.Diagnostics;
using Npgsql;

namespace DeepExtension.Tests.Support;

/// <summary>
/// The PostgreSQL the clustered tests use. With <see cref="ConnectionStringVariable"/> set, that server (its user may
/// create databases); otherwise a private throw-away cluster started once per test run as the current user (as the
/// <c>postgres</c> OS user when running as root, since initdb refuses root): a temporary folder, a free loopback port,
/// its socket in that folder, stopped and deleted when the run ends. Each test gets a database of its own.
/// Missing binaries fail the test with how to install them; nothing is skipped.
/// </summary>
public static class PostgresServer
{
    public const string ConnectionStringVariable = "DEEPX_TEST_POSTGRES";
    public const string BinDirectoryVariable = "DEEPX_POSTGRES_BIN";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _adminConnectionString;
    private static PrivateCluster? _cluster;

    /// <summary>A fresh, empty database; disposing drops it.</summary>
    public static async Task<PostgresDatabase> CreateDatabaseAsync()
    {
        var admin = await AdminConnectionStringAsync();
        var name = "deepx_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new PostgresDatabase(admin, name, builder.ToString());
    }

    private static async Task<string> AdminConnectionStringAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_adminConnectionString is not null) return _adminConnectionString;
            var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                _adminConnectionString = configured;
            }
            else
            {
                _cluster = await PrivateCluster.StartAsync(FindBinDirectory(Environment.GetEnvironmentVariable(BinDirectoryVariable), "/usr/lib/postgresql"));
                AppDomain.CurrentDomain.ProcessExit += (_, _) => _cluster.Stop();
                _adminConnectionString = _cluster.ConnectionString;
            }
            return _adminConnectionString;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The folder with initdb and pg_ctl: the configured one, else the newest under <paramref name="installRoot"/>.</summary>
    internal static string FindBinDirectory(string? configured, string installRoot)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(Path.Combine(configured, "initdb"))
                ? configured
                : throw new InvalidOperationException($"{BinDirectoryVariable}={configured} has no initdb. " + HowToInstall);
        }
        var installed = Directory.Exists(installRoot)
            ? Directory.GetDirectories(installRoot)
                .Select(d => Path.Combine(d, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException($"PostgreSQL's server binaries (initdb, pg_ctl) were not found under {installRoot}. " + HowToInstall);
    }

    private const string HowToInstall =
        "The PostgreSQL tests start a private cluster: install the server (Debian/Ubuntu: `sudo apt-get install postgresql`), " +
        $"or name the folder holding initdb and pg_ctl in {BinDirectoryVariable}, or point {ConnectionStringVariable} at a server " +
        "whose user may create databases (\"Host=...;Username=...;Password=...\").";

    private sealed class PrivateCluster
    {
        private const string SuperUser = "deepx";

        private readonly string _bin;
        private readonly string _folder;
        private readonly bool _asPostgresUser;
        private int _stopped;

        private PrivateCluster(string bin, string folder, bool asPostgresUser, int port)
        {
            _bin = bin;
            _folder = folder;
            _asPostgresUser = asPostgresUser;
            ConnectionString = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1", Port = port, Username = SuperUser, Database = "postgres", Pooling = true,
            }.ToString();
        }

        public string ConnectionString { get; }
        private string DataDirectory => Path.Combine(_folder, "data");

        private const string FolderPrefix = "deepx-postgres-";

        public static async Task<PrivateCluster> StartAsync(string bin)
        {
            DeleteStaleFolders();
            var folder = Path.Combine(Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(folder);
            var asPostgresUser = Environment.UserName == "root";
            if (asPostgresUser) Run("chown", ["postgres:postgres", folder], asPostgresUser: false);
            var cluster = new PrivateCluster(bin, folder, asPostgresUser, TestPorts.FreeLoopbackPort());
            try
            {
                cluster.Start();
            }
            catch
            {
                cluster.Stop();
                throw;
            }
            // pg_ctl -w has waited for it to accept connections; one query proves it.
            await using var connection = new NpgsqlConnection(cluster.ConnectionString);
            await connection.OpenAsync();
            return cluster;
        }

        /// <summary>A test host ended before it could delete its cluster (killed, or out of time at exit): its stopped folder goes.</summary>
        private static void DeleteStaleFolders()
        {
            foreach (var folder in Directory.GetDirectories(Path.GetTempPath(), FolderPrefix + "*"))
            {
                if (File.Exists(Path.Combine(folder, "data", "postmaster.pid"))) continue;
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Someone else's; not ours to insist on.
                }
            }
        }

        private void Start()
        {
            var port = new NpgsqlConnectionStringBuilder(ConnectionString).Port;
            Run(Path.Combine(_bin, "initdb"), ["-D", DataDirectory, "-U", SuperUser, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], _asPostgresUser);
            // Throw-away data: no fsync; enough connections for a console, two nodes and their pools.
            var serverOptions = $"-p {port} -k {_folder} -c listen_addresses=127.0.0.1 -c max_connections=400 " +
                                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
            Run(Path.Combine(_bin, "pg_ctl"), ["start", "-w", "-t", "60", "-D", DataDirectory, "-l", Path.Combine(_folder, "server.log"), "-o", serverOptions], _asPostgresUser);
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
            NpgsqlConnection.ClearAllPools();
            try
            {
                if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
                {
                    Run(Path.Combine(_bin, "pg_ctl"), ["stop", "-D", DataDirectory, "-m", "immediate", "-w"], _asPostgresUser);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone; the folder goes anyway.
            }
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The next run's DeleteStaleFolders takes it.
            }
        }

        private static void Run(string file, string[] arguments, bool asPostgresUser)
        {
            var start = new ProcessStartInfo(asPostgresUser ? "runuser" : file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (asPostgresUser)
            {
                foreach (var a in new[] { "-u", "postgres", "--", file }) start.ArgumentList.Add(a);
            }
            foreach (var a in arguments) start.ArgumentList.Add(a);
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
            // pg_ctl leaves the server holding inherited pipes, so read only until pg_ctl itself exits.
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"{Path.GetFileName(file)} did not finish in 120 s.");
            }
            if (process.ExitCode != 0)
            {
                var output = Task.WhenAll(stdout, stderr).Wait(TimeSpan.FromSeconds(2)) ? stdout.Result + stderr.Result : "";
                throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} failed (exit code {process.ExitCode}): {output.Trim()}");
            }
        }
    }
}

/// <summary>One test's database on <see cref="PostgresServer"/>.</summary>
public sealed class PostgresDatabase(string adminConnectionString, string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;
    public string ConnectionString { get; } = connectionString;

    public async ValueTask DisposeAsync()
    {
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            NpgsqlConnection.ClearPool(connection);
        }
        await using var admin = new NpgsqlConnection(adminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", admin);
        await command.ExecuteNonQueryAsync();
    }
}

using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Data;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Training;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A data root in a fresh temporary folder with a migrated SQLite database file: the console's own composition root
/// (<see cref="CoreHostingExtensions.AddDeepExtensionCore"/>) over it, nothing mocked and nothing wired by hand.
/// </summary>
public sealed class TestEnvironment : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private TestEnvironment(string dataRoot, PostgresDatabase? postgres)
    {
        DataRoot = dataRoot;
        Postgres = postgres;
        var settings = new Dictionary<string, string?> { [$"{DeepExtensionOptions.SectionName}:DataRoot"] = dataRoot };
        if (postgres is not null)
        {
            settings[$"{DeepExtensionOptions.SectionName}:Database:Provider"] = nameof(DatabaseProvider.PostgreSql);
            settings[$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = postgres.ConnectionString;
        }
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.AddDeepExtensionCore();
        _services = builder.Services.BuildServiceProvider();

        Options = Service<IOptions<DeepExtensionOptions>>().Value;
        Directories = Service<DataDirectories>();
        Database = Service<DatabaseSetup>();
        WorkChanges = Service<DeepExtension.Core.Common.WorkChanges>();
        DbFactory = Service<IDbContextFactory<DeepExtensionDbContext>>();
        HttpClients = Service<IHttpClientFactory>();
        BaseModels = Service<BaseModelService>();
        // The console's key ring under the data root.
        OllamaEndpoint = Service<OllamaEndpoint>();
        DeploymentEnvironments = Service<DeploymentEnvironmentService>();
        TrainingMethods = Service<TrainingMethodService>();
        Datasets = Service<DatasetService>();
        OllamaDeployer = Service<OllamaDeployer>();
    }

    /// <summary>A service of the console's core composition root over this data root.</summary>
    public T Service<T>() where T : notnull => _services.GetRequiredService<T>();

    public OllamaDeployer OllamaDeployer { get; }

    /// <summary>Protects and applies credentials in Ollama URLs, with this data root's key ring.</summary>
    public OllamaEndpoint OllamaEndpoint { get; }

    /// <summary>Raised by every save of <see cref="DbFactory"/>'s contexts that changes a train, save or deployment.</summary>
    public DeepExtension.Core.Common.WorkChanges WorkChanges { get; }

    /// <summary>The deployment service queueing on <paramref name="scheduler"/> (the work queue is the jobs host's, not the core's).</summary>
    public DeploymentService CreateDeploymentService(DeepExtension.Core.Work.IWorkQueue scheduler) =>
        ActivatorUtilities.CreateInstance<DeploymentService>(_services, scheduler,
            new CustomizedModelService(DbFactory, Directories, TimeProvider.System),
            new CompleteModelService(DbFactory, Directories, new RecordingScheduler(), TimeProvider.System));

    public string DataRoot { get; }

    /// <summary>The PostgreSQL database this environment uses; null for the default SQLite file.</summary>
    public PostgresDatabase? Postgres { get; }
    public DeepExtensionOptions Options { get; }
    public DataDirectories Directories { get; }
    public DatabaseSetup Database { get; }
    public IDbContextFactory<DeepExtensionDbContext> DbFactory { get; }
    public IHttpClientFactory HttpClients { get; }
    public BaseModelService BaseModels { get; }
    public DeploymentEnvironmentService DeploymentEnvironments { get; }
    public TrainingMethodService TrainingMethods { get; }
    public DatasetService Datasets { get; }

    public static async Task<TestEnvironment> CreateAsync(bool migrate = true) => await CreateAsync(migrate, postgres: null);

    /// <summary>The same on a fresh database of the test PostgreSQL server (see <see cref="PostgresServer"/>).</summary>
    public static async Task<TestEnvironment> CreateOnPostgresAsync(bool migrate = true) =>
        await CreateAsync(migrate, await PostgresServer.CreateDatabaseAsync());

    private static async Task<TestEnvironment> CreateAsync(bool migrate, PostgresDatabase? postgres)
    {
        var root = Path.Combine(Path.GetTempPath(), "deepx-tests", Guid.NewGuid().ToString("N"));
        var environment = new TestEnvironment(root, postgres);
        environment.Directories.EnsureCreated();
        if (migrate && postgres is null)
        {
            // Applying every migration to a fresh SQLite file is most of a small test's time; each environment
            // starts from a copy of one migrated file instead, and migrates that (finding nothing left to apply).
            File.Copy(await MigratedSqliteTemplate.Value, environment.Directories.DefaultSqliteFile);
        }
        if (migrate) await environment.Database.MigrateAsync();
        return environment;
    }

    /// <summary>A SQLite database file migrated once per test run, checkpointed so the one file holds everything.</summary>
    private static readonly Lazy<Task<string>> MigratedSqliteTemplate = new(async () =>
    {
        // A test host may be stopped before its exit handler has run: templates of processes gone are removed here.
        var parent = Path.Combine(Path.GetTempPath(), "deepx-tests");
        foreach (var stale in Directory.Exists(parent) ? Directory.GetDirectories(parent, "template-*") : [])
        {
            if (int.TryParse(Path.GetFileName(stale).Split('-')[1], out var pid) && !IsRunning(pid)) TryDelete(stale);
        }
        var root = Path.Combine(parent, $"template-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var template = new TestEnvironment(root, postgres: null);
        template.Directories.EnsureCreated();
        await template.Database.MigrateAsync();
        var file = template.Directories.DefaultSqliteFile;
        await using (var connection = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await checkpoint.ExecuteNonQueryAsync();
        }
        await template._services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return file;
    });

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still in use, or already gone: the next test run tries again.
        }
    }

    /// <summary>Copies a reference model folder under the models root and returns its relative path.</summary>
    public string AddModelFolder(string referenceName, string? relativePath = null)
    {
        relativePath ??= "hf/" + referenceName;
        CopyDirectory(ReferenceModels.BundledPathOf(referenceName), Path.Combine(Directories.ModelsRoot, relativePath));
        return relativePath;
    }

    /// <summary>Writes a file under a scratch folder of the data root (outside the datasets folder) and returns its path.</summary>
    public string WriteFile(string name, string content)
    {
        var dir = Path.Combine(DataRoot, "scratch");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    public static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            var target = Path.Combine(destination, Path.GetFileName(file));
            File.Copy(file, target, overwrite: true);
            File.SetAttributes(target, FileAttributes.Normal);
        }
        foreach (var dir in Directory.GetDirectories(source))
        {
            CopyDirectory(dir, Path.Combine(destination, Path.GetFileName(dir)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (Postgres is not null) await Postgres.DisposeAsync();
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a finished test's pool is not worth failing the run over.
        }
    }
}

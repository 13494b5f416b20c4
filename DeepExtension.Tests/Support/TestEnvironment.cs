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
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A data root in a fresh temporary folder with a migrated SQLite database file: the same wiring the
/// console uses, nothing mocked.
/// </summary>
public sealed class TestEnvironment : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private TestEnvironment(string dataRoot, PostgresDatabase? postgres)
    {
        DataRoot = dataRoot;
        Postgres = postgres;
        Options = new DeepExtensionOptions { DataRoot = dataRoot };
        if (postgres is not null)
        {
            Options.Database = new DatabaseOptions { Provider = DatabaseProvider.PostgreSql, ConnectionString = postgres.ConnectionString };
        }
        Directories = new DataDirectories(Options);
        Database = new DatabaseSetup(Options, Directories);
        DbFactory = Database.CreateFactory(WorkChanges);

        var services = new ServiceCollection();
        services.AddHttpClient(DeploymentEnvironmentService.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(5));
        services.AddHttpClient(OllamaDeployer.HttpClientName, c => c.Timeout = TimeSpan.FromMinutes(2));
        _services = services.BuildServiceProvider();
        HttpClients = _services.GetRequiredService<IHttpClientFactory>();

        BaseModels = new BaseModelService(DbFactory, Directories, TimeProvider.System);
        // A real key ring under the data root, as the console keeps one.
        OllamaEndpoint = new OllamaEndpoint(Microsoft.AspNetCore.DataProtection.DataProtectionProvider.Create(new DirectoryInfo(Path.Combine(dataRoot, "keys"))));
        DeploymentEnvironments = new DeploymentEnvironmentService(DbFactory, HttpClients, OllamaEndpoint, TimeProvider.System);
        TrainingMethods = new TrainingMethodService(DbFactory, TimeProvider.System);
        Datasets = new DatasetService(DbFactory, Directories, TimeProvider.System);
        OllamaDeployer = new OllamaDeployer(HttpClients, OllamaEndpoint, Microsoft.Extensions.Options.Options.Create(Options));
    }

    public OllamaDeployer OllamaDeployer { get; }

    /// <summary>Protects and applies credentials in Ollama URLs, with this data root's key ring.</summary>
    public OllamaEndpoint OllamaEndpoint { get; }

    /// <summary>Raised by every save of <see cref="DbFactory"/>'s contexts that changes a train, save or deployment.</summary>
    public DeepExtension.Core.Common.WorkChanges WorkChanges { get; } = new();

    public DeploymentService CreateDeploymentService(DeepExtension.Core.Work.IWorkQueue scheduler) =>
        new(DbFactory, Directories, BaseModels,
            new CustomizedModelService(DbFactory, Directories, TimeProvider.System),
            new CompleteModelService(DbFactory, Directories, new RecordingScheduler(), TimeProvider.System),
            DeploymentEnvironments, OllamaDeployer, scheduler, TimeProvider.System);

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
        if (migrate) await environment.Database.MigrateAsync();
        return environment;
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

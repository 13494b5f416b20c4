using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Data;

/// <summary>
/// The application database. Each provider has its own subclass so that each keeps its own migrations;
/// the rest of the code only sees this type. Identity's users and roles live here too (AspNet* tables).
/// </summary>
public abstract class DeepExtensionDbContext(DbContextOptions options)
    : IdentityDbContext<ApplicationUser, IdentityRole, string>(options)
{
    public DbSet<BaseModel> BaseModels => Set<BaseModel>();
    public DbSet<DeploymentEnvironment> DeploymentEnvironments => Set<DeploymentEnvironment>();
    public DbSet<TrainingMethod> TrainingMethods => Set<TrainingMethod>();
    public DbSet<TrainingRun> TrainingRuns => Set<TrainingRun>();
    public DbSet<CustomizedModel> CustomizedModels => Set<CustomizedModel>();
    public DbSet<ModelSave> ModelSaves => Set<ModelSave>();
    public DbSet<CompleteModel> CompleteModels => Set<CompleteModel>();
    public DbSet<ModelDeployment> ModelDeployments => Set<ModelDeployment>();
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<DatasetVersion> DatasetVersions => Set<DatasetVersion>();
    public DbSet<Audit.AuditEntry> AuditEntries => Set<Audit.AuditEntry>();
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
    public DbSet<SetupClaim> SetupClaims => Set<SetupClaim>();
    public DbSet<Evaluation> Evaluations => Set<Evaluation>();
    public DbSet<Work.WorkLease> WorkLeases => Set<Work.WorkLease>();
    public DbSet<HubDownloads.HubDownload> HubDownloads => Set<HubDownloads.HubDownload>();
    public DbSet<WorkerNode> WorkerNodes => Set<WorkerNode>();
    public DbSet<Installation> Installation => Set<Installation>();
    public DbSet<Arena.ArenaVote> ArenaVotes => Set<Arena.ArenaVote>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(DeepExtensionDbContext).Assembly);
        // CreatedBy holds a user name (an email): Identity's own limit.
        foreach (var property in modelBuilder.Model.GetEntityTypes().Select(e => e.FindProperty("CreatedBy")).OfType<Microsoft.EntityFrameworkCore.Metadata.IMutableProperty>())
        {
            property.SetMaxLength(256);
        }
    }
}

public sealed class SqliteDeepExtensionDbContext(DbContextOptions<SqliteDeepExtensionDbContext> options)
    : DeepExtensionDbContext(options);

public sealed class SqlServerDeepExtensionDbContext(DbContextOptions<SqlServerDeepExtensionDbContext> options)
    : DeepExtensionDbContext(options);

public sealed class PostgreSqlDeepExtensionDbContext(DbContextOptions<PostgreSqlDeepExtensionDbContext> options)
    : DeepExtensionDbContext(options);

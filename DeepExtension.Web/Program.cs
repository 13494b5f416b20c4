using DeepExtension.Core;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Web;
using DeepExtension.Web.Accounts;

var builder = WebApplication.CreateBuilder(args);
builder.AddDeepExtensionCore();
builder.AddDeepExtensionJobs();
builder.AddDeepExtensionWeb();

var app = builder.Build();
await app.Services.MigrateDeepExtensionDatabaseAsync();
// Worker nodes start only where they see this file: the proof that they share the console's data root.
await app.Services.GetRequiredService<DeepExtension.Core.Nodes.DataRootMarker>().EnsureAsync();
await app.Services.GetRequiredService<FirstAdminSetup>().InitializeAsync();
app.MapDeepExtensionWeb();
await app.RunAsync();

public partial class Program;

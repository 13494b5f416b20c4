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
await app.Services.GetRequiredService<FirstAdminSetup>().InitializeAsync();
app.MapDeepExtensionWeb();
await app.RunAsync();

public partial class Program;

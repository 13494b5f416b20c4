using DeepExtension.Core;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Web;

var builder = WebApplication.CreateBuilder(args);
builder.AddDeepExtensionCore();
builder.AddDeepExtensionJobs();
builder.AddDeepExtensionWeb();

var app = builder.Build();
await app.Services.MigrateDeepExtensionDatabaseAsync();
app.MapDeepExtensionWeb();
await app.RunAsync();

public partial class Program;

using DeepExtension.Core;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Scheduling;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs;

/// <summary>
/// The worker executable. Commands:
///   scheduler   run a Quartz scheduler node on the configured database (the docker-compose "worker")
///   train       train one run (the console starts this in its own process)
/// Configuration comes from the environment (DeepExtension__Database__Provider, ...) or --key=value arguments.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage();
            return args.Length == 0 ? 2 : 0;
        }

        var rest = args[1..];
        switch (args[0])
        {
            case "scheduler":
                return await RunSchedulerAsync(rest);
            case "train":
                return await TrainCommand.RunAsync(rest);
            default:
                Console.Error.WriteLine($"Unknown command '{args[0]}'.");
                PrintUsage();
                return 2;
        }
    }

    private static async Task<int> RunSchedulerAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration[JobsHostingExtensions.SchedulerEnabledKey] = "true";
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        using var host = builder.Build();
        await host.Services.MigrateDeepExtensionDatabaseAsync();
        await host.RunAsync();
        return 0;
    }

    private static void PrintUsage() => Console.Error.WriteLine(
        """
        usage: DeepExtension.Jobs <command> [--DeepExtension:Key=value ...]

        commands:
          scheduler   run a Quartz scheduler node against the configured database
          train       --run RUN_ID: train one queued run (started by the console's job system)
        """);
}

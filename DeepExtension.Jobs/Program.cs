using DeepExtension.Core;
using DeepExtension.Core.Data;
using DeepExtension.Core.Nodes;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Saving;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs;

/// <summary>
/// The worker executable. Commands:
///   worker      run a worker node: join the clustered scheduler (PostgreSQL or SQL Server), register in the nodes
///               table and heartbeat; refuses a data root that is not the console's (docker-compose "worker")
///   scheduler   run a Quartz scheduler on the configured database, without registering as a node
///   train       train one run (the console starts this in its own process)
///   generate    chat with a local Hugging Face model (optionally with a PEFT LoRA adapter), streaming to stdout
///   merge       merge a PEFT LoRA adapter into its base model and write a complete model folder: named by folders
///               (--model --adapter --out), or by a queued save (--save ID, started by the console; "merge-save" is
///               the earlier name of that form and still works)
///   evaluate    evaluate models on a dataset (--evaluation ID, started by the console)
///   devices     print, as JSON, the libtorch and backend this worker loads and every GPU
/// Configuration comes from the environment (DeepExtension__Database__Provider, ...) or --key=value arguments.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage();
            return args.Length == 0 ? WorkerExit.Usage : WorkerExit.Succeeded;
        }

        var rest = args[1..];
        // Which libtorch to load (DeepExtension:Training:LibTorchDirectory) is known before any command touches torch.
        TorchRuntime.ConfiguredDirectory = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(rest.Where(a => a.StartsWith("--DeepExtension:", StringComparison.OrdinalIgnoreCase)).ToArray())
            .Build()[LibTorchLocator.ConfigurationKey];
        switch (args[0])
        {
            case "worker":
                return await RunWorkerNodeAsync(rest);
            case "scheduler":
                return await RunSchedulerAsync(rest);
            case "train":
                return await TrainCommand.RunAsync(rest);
            case "merge-save":
                return await SaveCommand.RunAsync(rest);
            case "merge" when rest.Contains(SaveCommand.SaveOption):
                return await SaveCommand.RunAsync(rest);
            case "evaluate":
                return await Evaluations.EvaluateCommand.RunAsync(rest);
            case "generate":
                return RunEngineCommand(() => EngineCommands.Generate(rest, Console.Out, Console.Error));
            case "merge":
                return RunEngineCommand(() => EngineCommands.Merge(rest, Console.Out, Console.Error));
            case "devices":
                return PrintDevices();
            default:
                Console.Error.WriteLine($"Unknown command '{args[0]}'.");
                PrintUsage();
                return WorkerExit.Usage;
        }
    }

    private static async Task<int> RunSchedulerAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration[JobsHostingExtensions.SchedulerEnabledKey] = "true";
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        // The console of a separate node reads this node's devices from the data root.
        builder.Services.AddHostedService<TrainingDevicesReporter>();
        using var host = builder.Build();
        await host.Services.MigrateDeepExtensionDatabaseAsync();
        try
        {
            await host.RunAsync();
        }
        catch (ClusterRefusedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return WorkerExit.Failed;
        }
        return WorkerExit.Succeeded;
    }

    /// <summary>
    /// A worker node: the clustered scheduler plus its row in the nodes table. Exit code 2 (usage) on SQLite, which
    /// cannot be clustered; 1 when the data root is not the console's.
    /// </summary>
    private static async Task<int> RunWorkerNodeAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration[JobsHostingExtensions.SchedulerEnabledKey] = "true";
        builder.Services.AddSingleton(new NodeRole(IsConsole: false));
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        using var host = builder.Build();
        var database = host.Services.GetRequiredService<DatabaseSetup>();
        if (!JobsHostingExtensions.IsClustered(host.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>(), database))
        {
            Console.Error.WriteLine(
                $"error: a worker node joins a clustered Quartz job store, which needs PostgreSQL or SQL Server; the database is {database.Provider} " +
                "(one machine's file, which Quartz cannot cluster). Set DeepExtension:Database:Provider to PostgreSql or SqlServer with its " +
                "ConnectionString, on the console and on every node, and leave DeepExtension:Scheduler:Clustered on (see README \"Worker nodes\").");
            return WorkerExit.Usage;
        }
        await host.Services.MigrateDeepExtensionDatabaseAsync();
        if (await host.Services.GetRequiredService<DataRootMarker>().VerifyAsync() is { } wrong)
        {
            Console.Error.WriteLine($"error: {wrong}");
            return WorkerExit.Failed;
        }
        try
        {
            await host.RunAsync();
        }
        catch (ClusterRefusedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return WorkerExit.Failed;
        }
        return WorkerExit.Succeeded;
    }

    /// <summary>Exit code 0 with the report; 1 (the report carrying the error) when libtorch cannot be loaded.</summary>
    private static int PrintDevices()
    {
        var report = DevicesReport.Collect();
        Console.Out.WriteLine(report.ToJson());
        return report.Error is null ? 0 : 1;
    }

    private static int RunEngineCommand(Func<int> command)
    {
        try
        {
            return command();
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            PrintUsage();
            return WorkerExit.Usage;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException
                                       or ArgumentException or InvalidOperationException or UnsupportedTokenizerException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return WorkerExit.Failed;
        }
    }

    private static void PrintUsage() => Console.Error.WriteLine(
        """
        usage: DeepExtension.Jobs <command> [--DeepExtension:Key=value ...]

               DeepExtension.Jobs generate --model DIR [--adapter DIR] --prompt TEXT [--system TEXT]
                          [--max-new-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S]
                          [--dtype float32|bfloat16|float16]
               DeepExtension.Jobs merge --model DIR --adapter DIR --out DIR [--max-shard-bytes N]
               DeepExtension.Jobs merge --save SAVE_ID
               DeepExtension.Jobs evaluate --evaluation EVALUATION_ID

        commands:
          worker      run a worker node: join the clustered scheduler (PostgreSQL or SQL Server), register on the
                      Nodes page and heartbeat; refuses to start when its data root is not the console's
          scheduler   run a Quartz scheduler against the configured database (without registering as a node)
          train       --run RUN_ID: train one queued run (started by the console's job system)
          generate    apply the model's chat template (with a generation prompt) to the prompt, stream the
                      reply to stdout and stop at EOS (defaults: generation_config.json, else greedy, 256 tokens)
          merge       merge a PEFT LoRA adapter into its base model and write a complete Hugging Face folder
                      (base dtype, top-level rope_theta, tokenizer and chat template copied), written as
                      OUT.partial and renamed when complete; --save SAVE_ID merges a queued save of a
                      customized model into complete-models/ (started by the console)
          evaluate    --evaluation EVALUATION_ID: answer a dataset's prompts with each model of a queued
                      evaluation, score the answers (and judge them in Ollama) into evaluations/ID/results.jsonl
          devices     print as JSON the backend (cpu or cuda) and libtorch (folder, version) this worker loads and
                      every GPU (name, total and free memory, compute capability); no GPU gives an empty list

        DeepExtension:Training:LibTorchDirectory: the lib folder of a PyTorch (CUDA) installation or an extracted
        libtorch to load; empty: the PyTorch python3 imports, else the bundled CPU libtorch; "bundled": the latter.
        """);
}

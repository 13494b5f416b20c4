using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace DeepExtension.Tests.Data;

/// <summary>An installation upgrades in place: a database made by the previous migrations keeps its rows.</summary>
public class UpgradeWithDataTests
{
    /// <summary>The last migration before the work lifecycle was shared.</summary>
    private const string PreviousMigration = "20261122190012_AddDeployments";

    private static readonly Guid RunId = Guid.Parse("0b7d5c2e-4f1a-4d55-9a35-3c3e1f0a9d11");
    private static readonly Guid SaveId = Guid.Parse("5a1e9c77-2b40-4e1c-8f0d-6d2b7e9c0a22");
    private static readonly Guid DeploymentId = Guid.Parse("019a5a1e-9c77-7b40-8e1c-8f0d6d2b7e33");

    // What an earlier version stored for an SFT run: the method's every parameter under its key.
    private const string OldParametersJson =
        """{"num_epochs":3,"batch_size":4,"gradient_accumulation_steps":1,"learning_rate":0.0002,"max_tokens":512,"lr_scheduler":"cosine","warmup_ratio":0.03,"weight_decay":0,"max_grad_norm":1,"seed":42,"system_prompt":"Be kind.","save_every":1,"save_unit":"epochs","eval_every_steps":0,"lora_r":16,"lora_alpha":32,"lora_dropout":0.05,"target_modules":["q_proj","v_proj"],"use_rslora":false,"train_on_responses_only":true}""";

    [Fact]
    public async Task Migrate_DatabaseOfThePreviousVersionWithRows_KeepsEveryRowAndFillsTheNewColumns()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        await using (var db = await env.DbFactory.CreateDbContextAsync())
        {
            await db.GetService<IMigrator>().MigrateAsync(PreviousMigration);
            Assert.Contains(PreviousMigration, await db.Database.GetAppliedMigrationsAsync());
            Assert.NotEmpty(await db.Database.GetPendingMigrationsAsync());
        }

        await using (var connection = new SqliteConnection(env.Database.ConnectionString))
        {
            await connection.OpenAsync();
            // Rows only: the tables they point to are not what this test is about.
            await ExecuteAsync(connection, "PRAGMA foreign_keys = OFF");
            await InsertAsync(connection, "TrainingRuns", new()
            {
                ["Id"] = Text(RunId), ["Name"] = "old-run", ["Algorithm"] = "Sft", ["ParametersJson"] = OldParametersJson, ["Device"] = "cpu",
                ["Status"] = "Succeeded", ["CreatedAtUtc"] = "2026-11-20 10:00:00", ["StartedAtUtc"] = "2026-11-20 10:01:00",
                ["FinishedAtUtc"] = "2026-11-20 10:30:00", ["Attempts"] = 2, ["Step"] = 20, ["TotalSteps"] = 20, ["BestLoss"] = 0.25,
            });
            await InsertAsync(connection, "ModelSaves", new()
            {
                ["Id"] = Text(SaveId), ["OutputName"] = "old_s_5a1e", ["Status"] = "Failed", ["Progress"] = 0.4,
                ["FailureReason"] = "the worker was killed (SIGKILL)", ["CreatedAtUtc"] = "2026-11-21 09:00:00",
                ["StartedAtUtc"] = "2026-11-21 09:00:05", ["FinishedAtUtc"] = "2026-11-21 09:02:00",
            });
            await InsertAsync(connection, "ModelDeployments", new()
            {
                ["Id"] = Text(DeploymentId), ["OllamaModel"] = "old:q8_0", ["SourceKind"] = "Complete", ["Quantization"] = "q8_0",
                ["Status"] = "Queued", ["Stage"] = "Queued", ["CreatedAtUtc"] = "2026-11-22 08:00:00", ["SystemPrompt"] = "Be kind.",
            });
        }

        await env.Database.MigrateAsync();

        await using var upgraded = await env.DbFactory.CreateDbContextAsync();
        Assert.Empty(await upgraded.Database.GetPendingMigrationsAsync());
        var run = await upgraded.TrainingRuns.AsNoTracking().SingleAsync(r => r.Id == RunId);
        Assert.Equal("old-run", run.Name);
        Assert.Equal(WorkStatus.Succeeded, run.Status);
        Assert.Equal(new DateTime(2026, 11, 20, 10, 0, 0), run.CreatedAtUtc);
        Assert.Equal(run.CreatedAtUtc, run.QueuedAtUtc);
        Assert.Equal(new DateTime(2026, 11, 20, 10, 1, 0), run.StartedAtUtc);
        Assert.Equal(new DateTime(2026, 11, 20, 10, 30, 0), run.FinishedAtUtc);
        Assert.Equal(2, run.Attempts);
        Assert.Equal(20, run.Step);
        Assert.Equal(0.25, run.BestLoss);
        Assert.Equal(OldParametersJson, run.ParametersJson);
        Assert.Equal(512, run.TrainingParameters.MaxTokens);
        Assert.Equal("Be kind.", run.TrainingParameters.SystemPrompt);
        Assert.Equal(TrainingAlgorithm.Sft, run.Algorithm);

        var save = await upgraded.ModelSaves.AsNoTracking().SingleAsync(s => s.Id == SaveId);
        Assert.Equal("old_s_5a1e", save.OutputName);
        Assert.Equal(WorkStatus.Failed, save.Status);
        Assert.Equal("the worker was killed (SIGKILL)", save.FailureReason);
        Assert.Equal(0.4, save.Progress);
        Assert.Equal(new DateTime(2026, 11, 21, 9, 0, 0), save.QueuedAtUtc);
        Assert.Equal(1, save.Attempts);

        var deployment = await upgraded.ModelDeployments.AsNoTracking().SingleAsync(d => d.Id == DeploymentId);
        Assert.Equal("old:q8_0", deployment.OllamaModel);
        Assert.Equal(WorkStatus.Queued, deployment.Status);
        Assert.Equal(DeploymentSourceKind.Complete, deployment.SourceKind);
        Assert.Equal("Be kind.", deployment.SystemPrompt);
        Assert.Equal(new DateTime(2026, 11, 22, 8, 0, 0), deployment.QueuedAtUtc);
        Assert.Equal(0, deployment.Attempts);
        Assert.Null(deployment.StartedAtUtc);
    }

    private static string Text(Guid id) => id.ToString().ToUpperInvariant();

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Inserts a row with the given values; other required columns get a plain value of their type.</summary>
    private static async Task InsertAsync(SqliteConnection connection, string table, Dictionary<string, object> values)
    {
        var row = new Dictionary<string, object>(values);
        await using (var info = connection.CreateCommand())
        {
            info.CommandText = $"PRAGMA table_info(\"{table}\")";
            await using var reader = await info.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var (name, type, notNull, hasDefault) = (reader.GetString(1), reader.GetString(2), reader.GetInt32(3) == 1, !reader.IsDBNull(4));
                if (row.ContainsKey(name) || !notNull || hasDefault) continue;
                row[name] = type switch
                {
                    "INTEGER" => 0,
                    "REAL" => 0.0,
                    _ when name.EndsWith("Id", StringComparison.Ordinal) => Text(Guid.NewGuid()),
                    _ => "x",
                };
            }
        }
        await using var insert = connection.CreateCommand();
        var names = row.Keys.ToList();
        insert.CommandText = $"INSERT INTO \"{table}\" ({string.Join(", ", names.Select(n => $"\"{n}\""))}) VALUES ({string.Join(", ", names.Select((_, i) => $"$p{i}"))})";
        for (var i = 0; i < names.Count; i++) insert.Parameters.AddWithValue($"$p{i}", row[names[i]]);
        await insert.ExecuteNonQueryAsync();
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class WorkLifecycle : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "QueuedAtUtc",
                table: "TrainingRuns",
                type: "TEXT",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "ModelSaves",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTime>(
                name: "QueuedAtUtc",
                table: "ModelSaves",
                type: "TEXT",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "ModelDeployments",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTime>(
                name: "QueuedAtUtc",
                table: "ModelDeployments",
                type: "TEXT",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            // Existing rows keep their meaning: each was last queued when it was created, and a save or deployment that
            // started had one attempt (runs already counted theirs).
            migrationBuilder.Sql("UPDATE TrainingRuns SET QueuedAtUtc = CreatedAtUtc");
            migrationBuilder.Sql("UPDATE ModelSaves SET QueuedAtUtc = CreatedAtUtc");
            migrationBuilder.Sql("UPDATE ModelDeployments SET QueuedAtUtc = CreatedAtUtc");
            migrationBuilder.Sql("UPDATE ModelSaves SET Attempts = 1 WHERE StartedAtUtc IS NOT NULL");
            migrationBuilder.Sql("UPDATE ModelDeployments SET Attempts = 1 WHERE StartedAtUtc IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "QueuedAtUtc",
                table: "TrainingRuns");

            migrationBuilder.DropColumn(
                name: "Attempts",
                table: "ModelSaves");

            migrationBuilder.DropColumn(
                name: "QueuedAtUtc",
                table: "ModelSaves");

            migrationBuilder.DropColumn(
                name: "Attempts",
                table: "ModelDeployments");

            migrationBuilder.DropColumn(
                name: "QueuedAtUtc",
                table: "ModelDeployments");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RunPlacement : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "DeviceKinds",
                table: "WorkerNodes",
                type: "TEXT",
                maxLength: 1000,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "DeviceUsed",
                table: "TrainingRuns",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "NodeId",
                table: "TrainingRuns",
                type: "TEXT",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "NodeName",
                table: "TrainingRuns",
                type: "TEXT",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "PlacedAtUtc",
                table: "TrainingRuns",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "DeviceKinds",
                table: "WorkerNodes");

            migrationBuilder.DropColumn(
                name: "DeviceUsed",
                table: "TrainingRuns");

            migrationBuilder.DropColumn(
                name: "NodeId",
                table: "TrainingRuns");

            migrationBuilder.DropColumn(
                name: "NodeName",
                table: "TrainingRuns");

            migrationBuilder.DropColumn(
                name: "PlacedAtUtc",
                table: "TrainingRuns");
        }
    }
}

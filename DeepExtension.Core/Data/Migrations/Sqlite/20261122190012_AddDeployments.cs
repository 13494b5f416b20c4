using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddDeployments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ModelDeployments",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    OllamaModel = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    SourceKind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    SourceModelId = table.Column<Guid>(type: "TEXT", nullable: false),
                    SourceModelName = table.Column<string>(type: "TEXT", maxLength: 220, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "TEXT", nullable: false),
                    BaseModelName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    EnvironmentId = table.Column<Guid>(type: "TEXT", nullable: false),
                    EnvironmentName = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    BaseUrl = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    Quantization = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    SystemPrompt = table.Column<string>(type: "TEXT", maxLength: 8000, nullable: true),
                    MergesFirst = table.Column<bool>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Progress = table.Column<double>(type: "REAL", nullable: false),
                    Stage = table.Column<string>(type: "TEXT", maxLength: 400, nullable: true),
                    FailureReason = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    SizeBytes = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FinishedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ModelDeployments", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ModelDeployments_EnvironmentId_OllamaModel",
                table: "ModelDeployments",
                columns: new[] { "EnvironmentId", "OllamaModel" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ModelDeployments");
        }
    }
}

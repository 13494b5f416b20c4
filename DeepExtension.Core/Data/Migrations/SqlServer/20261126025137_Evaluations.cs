using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class Evaluations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Evaluations",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Name = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    DatasetVersionId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Part = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    MaxExamples = table.Column<int>(type: "int", nullable: false),
                    MaxNewTokens = table.Column<int>(type: "int", nullable: false),
                    Temperature = table.Column<double>(type: "float", nullable: false),
                    TopP = table.Column<double>(type: "float", nullable: false),
                    Seed = table.Column<long>(type: "bigint", nullable: false),
                    ModelsJson = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    RunId = table.Column<Guid>(type: "uniqueidentifier", nullable: true),
                    JudgeDeploymentId = table.Column<Guid>(type: "uniqueidentifier", nullable: true),
                    JudgePrompt = table.Column<string>(type: "nvarchar(max)", maxLength: 8000, nullable: true),
                    Progress = table.Column<double>(type: "float", nullable: false),
                    ExampleCount = table.Column<int>(type: "int", nullable: false),
                    AggregatesJson = table.Column<string>(type: "nvarchar(max)", nullable: true),
                    Status = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false),
                    CreatedBy = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: true),
                    QueuedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: true),
                    FinishedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: true),
                    FailureReason = table.Column<string>(type: "nvarchar(2000)", maxLength: 2000, nullable: true),
                    Attempts = table.Column<int>(type: "int", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Evaluations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Evaluations_BaseModels_BaseModelId",
                        column: x => x.BaseModelId,
                        principalTable: "BaseModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Evaluations_DatasetVersions_DatasetVersionId",
                        column: x => x.DatasetVersionId,
                        principalTable: "DatasetVersions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Evaluations_BaseModelId",
                table: "Evaluations",
                column: "BaseModelId");

            migrationBuilder.CreateIndex(
                name: "IX_Evaluations_CreatedAtUtc",
                table: "Evaluations",
                column: "CreatedAtUtc");

            migrationBuilder.CreateIndex(
                name: "IX_Evaluations_DatasetVersionId",
                table: "Evaluations",
                column: "DatasetVersionId");

            migrationBuilder.CreateIndex(
                name: "IX_Evaluations_RunId",
                table: "Evaluations",
                column: "RunId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Evaluations");
        }
    }
}

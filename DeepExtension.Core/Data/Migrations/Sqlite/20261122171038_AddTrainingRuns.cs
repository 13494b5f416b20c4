using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddTrainingRuns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "TrainingRuns",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "TEXT", nullable: false),
                    BaseModelTechnicalName = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    DatasetVersionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    MethodId = table.Column<Guid>(type: "TEXT", nullable: false),
                    MethodName = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Algorithm = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    ParametersJson = table.Column<string>(type: "TEXT", nullable: false),
                    Device = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FinishedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FailureReason = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: true),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    Step = table.Column<long>(type: "INTEGER", nullable: false),
                    TotalSteps = table.Column<long>(type: "INTEGER", nullable: false),
                    Epoch = table.Column<double>(type: "REAL", nullable: false),
                    LastLoss = table.Column<double>(type: "REAL", nullable: true),
                    BestLoss = table.Column<double>(type: "REAL", nullable: true),
                    BestEvalLoss = table.Column<double>(type: "REAL", nullable: true),
                    TokensPerSecond = table.Column<double>(type: "REAL", nullable: true),
                    EtaSeconds = table.Column<double>(type: "REAL", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TrainingRuns", x => x.Id);
                    table.ForeignKey(
                        name: "FK_TrainingRuns_BaseModels_BaseModelId",
                        column: x => x.BaseModelId,
                        principalTable: "BaseModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_TrainingRuns_DatasetVersions_DatasetVersionId",
                        column: x => x.DatasetVersionId,
                        principalTable: "DatasetVersions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_TrainingRuns_TrainingMethods_MethodId",
                        column: x => x.MethodId,
                        principalTable: "TrainingMethods",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "CustomizedModels",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "TEXT", nullable: false),
                    TrainingRunId = table.Column<Guid>(type: "TEXT", nullable: false),
                    TrainName = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    AdapterPath = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    CardJson = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CustomizedModels", x => x.Id);
                    table.ForeignKey(
                        name: "FK_CustomizedModels_BaseModels_BaseModelId",
                        column: x => x.BaseModelId,
                        principalTable: "BaseModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_CustomizedModels_TrainingRuns_TrainingRunId",
                        column: x => x.TrainingRunId,
                        principalTable: "TrainingRuns",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_CustomizedModels_BaseModelId",
                table: "CustomizedModels",
                column: "BaseModelId");

            migrationBuilder.CreateIndex(
                name: "IX_CustomizedModels_Name",
                table: "CustomizedModels",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_CustomizedModels_TrainingRunId",
                table: "CustomizedModels",
                column: "TrainingRunId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_TrainingRuns_BaseModelId",
                table: "TrainingRuns",
                column: "BaseModelId");

            migrationBuilder.CreateIndex(
                name: "IX_TrainingRuns_CreatedAtUtc",
                table: "TrainingRuns",
                column: "CreatedAtUtc");

            migrationBuilder.CreateIndex(
                name: "IX_TrainingRuns_DatasetVersionId",
                table: "TrainingRuns",
                column: "DatasetVersionId");

            migrationBuilder.CreateIndex(
                name: "IX_TrainingRuns_MethodId",
                table: "TrainingRuns",
                column: "MethodId");

            migrationBuilder.CreateIndex(
                name: "IX_TrainingRuns_Status",
                table: "TrainingRuns",
                column: "Status");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "CustomizedModels");

            migrationBuilder.DropTable(
                name: "TrainingRuns");
        }
    }
}

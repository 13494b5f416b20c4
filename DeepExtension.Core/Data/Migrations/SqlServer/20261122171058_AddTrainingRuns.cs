using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.SqlServer
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
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Name = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    BaseModelTechnicalName = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    DatasetVersionId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    MethodId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    MethodName = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    Algorithm = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    ParametersJson = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    Device = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: true),
                    FinishedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: true),
                    FailureReason = table.Column<string>(type: "nvarchar(4000)", maxLength: 4000, nullable: true),
                    Attempts = table.Column<int>(type: "int", nullable: false),
                    Step = table.Column<long>(type: "bigint", nullable: false),
                    TotalSteps = table.Column<long>(type: "bigint", nullable: false),
                    Epoch = table.Column<double>(type: "float", nullable: false),
                    LastLoss = table.Column<double>(type: "float", nullable: true),
                    BestLoss = table.Column<double>(type: "float", nullable: true),
                    BestEvalLoss = table.Column<double>(type: "float", nullable: true),
                    TokensPerSecond = table.Column<double>(type: "float", nullable: true),
                    EtaSeconds = table.Column<double>(type: "float", nullable: true)
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
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Name = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    TrainingRunId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    TrainName = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    AdapterPath = table.Column<string>(type: "nvarchar(400)", maxLength: 400, nullable: false),
                    CardJson = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false)
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

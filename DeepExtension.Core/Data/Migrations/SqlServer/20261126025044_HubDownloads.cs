using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class HubDownloads : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "SourceCommit",
                table: "BaseModels",
                type: "nvarchar(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SourceRepository",
                table: "BaseModels",
                type: "nvarchar(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "HubDownloads",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Repository = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    Revision = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    Commit = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    TargetPath = table.Column<string>(type: "nvarchar(400)", maxLength: 400, nullable: false),
                    TechnicalName = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    ModelName = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    Architecture = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    FilesJson = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    ProtectedToken = table.Column<string>(type: "nvarchar(4000)", maxLength: 4000, nullable: true),
                    TotalBytes = table.Column<long>(type: "bigint", nullable: false),
                    DoneBytes = table.Column<long>(type: "bigint", nullable: false),
                    BytesPerSecond = table.Column<double>(type: "float", nullable: true),
                    Stage = table.Column<string>(type: "nvarchar(400)", maxLength: 400, nullable: true),
                    BaseModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: true),
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
                    table.PrimaryKey("PK_HubDownloads", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_HubDownloads_Status",
                table: "HubDownloads",
                column: "Status");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "HubDownloads");

            migrationBuilder.DropColumn(
                name: "SourceCommit",
                table: "BaseModels");

            migrationBuilder.DropColumn(
                name: "SourceRepository",
                table: "BaseModels");
        }
    }
}

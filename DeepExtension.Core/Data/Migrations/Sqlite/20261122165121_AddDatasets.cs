using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddDatasets : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Datasets",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    NameKey = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Description = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Datasets", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "DatasetVersions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    DatasetId = table.Column<Guid>(type: "TEXT", nullable: false),
                    VersionNumber = table.Column<int>(type: "INTEGER", nullable: false),
                    ContentSha256 = table.Column<string>(type: "TEXT", unicode: false, fixedLength: true, maxLength: 64, nullable: false),
                    OriginalFileName = table.Column<string>(type: "TEXT", maxLength: 260, nullable: false),
                    StoredPath = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    FileType = table.Column<string>(type: "TEXT", maxLength: 10, nullable: false),
                    Format = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    RowCount = table.Column<long>(type: "INTEGER", nullable: false),
                    SizeBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    ValidationPercent = table.Column<int>(type: "INTEGER", nullable: false),
                    ValidationOriginalFileName = table.Column<string>(type: "TEXT", maxLength: 260, nullable: true),
                    ValidationSha256 = table.Column<string>(type: "TEXT", unicode: false, fixedLength: true, maxLength: 64, nullable: true),
                    ValidationStoredPath = table.Column<string>(type: "TEXT", maxLength: 400, nullable: true),
                    ValidationRowCount = table.Column<long>(type: "INTEGER", nullable: true),
                    ValidationSizeBytes = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DatasetVersions", x => x.Id);
                    table.CheckConstraint("CK_DatasetVersions_ValidationPercent", "\"ValidationPercent\" >= 0 AND \"ValidationPercent\" <= 50");
                    table.ForeignKey(
                        name: "FK_DatasetVersions_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Datasets_NameKey",
                table: "Datasets",
                column: "NameKey",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_DatasetVersions_DatasetId_VersionNumber",
                table: "DatasetVersions",
                columns: new[] { "DatasetId", "VersionNumber" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "DatasetVersions");

            migrationBuilder.DropTable(
                name: "Datasets");
        }
    }
}

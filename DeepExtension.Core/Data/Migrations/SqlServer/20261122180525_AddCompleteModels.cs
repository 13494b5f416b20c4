using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class AddCompleteModels : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "CompleteModels",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Name = table.Column<string>(type: "nvarchar(220)", maxLength: 220, nullable: false),
                    CustomizedModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: true),
                    CustomizedModelName = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    BaseModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    SaveId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Path = table.Column<string>(type: "nvarchar(400)", maxLength: 400, nullable: false),
                    CardJson = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    SizeBytes = table.Column<long>(type: "bigint", nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CompleteModels", x => x.Id);
                    table.ForeignKey(
                        name: "FK_CompleteModels_CustomizedModels_CustomizedModelId",
                        column: x => x.CustomizedModelId,
                        principalTable: "CustomizedModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "ModelSaves",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    CustomizedModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    OutputName = table.Column<string>(type: "nvarchar(220)", maxLength: 220, nullable: false),
                    Status = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    Progress = table.Column<double>(type: "float", nullable: false),
                    FailureReason = table.Column<string>(type: "nvarchar(2000)", maxLength: 2000, nullable: true),
                    CompleteModelId = table.Column<Guid>(type: "uniqueidentifier", nullable: true),
                    CreatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: true),
                    FinishedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ModelSaves", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ModelSaves_CustomizedModels_CustomizedModelId",
                        column: x => x.CustomizedModelId,
                        principalTable: "CustomizedModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_CompleteModels_CustomizedModelId",
                table: "CompleteModels",
                column: "CustomizedModelId");

            migrationBuilder.CreateIndex(
                name: "IX_CompleteModels_Name",
                table: "CompleteModels",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_CompleteModels_SaveId",
                table: "CompleteModels",
                column: "SaveId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ModelSaves_CustomizedModelId",
                table: "ModelSaves",
                column: "CustomizedModelId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "CompleteModels");

            migrationBuilder.DropTable(
                name: "ModelSaves");
        }
    }
}

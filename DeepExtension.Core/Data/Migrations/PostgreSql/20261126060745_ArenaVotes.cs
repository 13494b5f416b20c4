using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class ArenaVotes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ArenaVotes",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    CreatedBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    ModelAId = table.Column<Guid>(type: "uuid", nullable: false),
                    ModelAName = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    ModelBId = table.Column<Guid>(type: "uuid", nullable: false),
                    ModelBName = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    Prompt = table.Column<string>(type: "text", nullable: false),
                    AnswerA = table.Column<string>(type: "text", nullable: false),
                    AnswerB = table.Column<string>(type: "text", nullable: false),
                    Verdict = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ArenaVotes", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ArenaVotes_CreatedAtUtc",
                table: "ArenaVotes",
                column: "CreatedAtUtc");

            migrationBuilder.CreateIndex(
                name: "IX_ArenaVotes_ModelAId_ModelBId",
                table: "ArenaVotes",
                columns: new[] { "ModelAId", "ModelBId" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ArenaVotes");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

#pragma warning disable CA1814 // Prefer jagged arrays over multidimensional

namespace DeepExtension.Core.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class AddTrainingMethods : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "TrainingMethods",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Name = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    NameKey = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    Algorithm = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    Description = table.Column<string>(type: "nvarchar(2000)", maxLength: 2000, nullable: false),
                    IsBuiltIn = table.Column<bool>(type: "bit", nullable: false),
                    DefaultsJson = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false),
                    UpdatedAtUtc = table.Column<DateTime>(type: "datetime2", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TrainingMethods", x => x.Id);
                });

            migrationBuilder.InsertData(
                table: "TrainingMethods",
                columns: new[] { "Id", "Algorithm", "CreatedAtUtc", "DefaultsJson", "Description", "IsBuiltIn", "Name", "NameKey", "UpdatedAtUtc" },
                values: new object[,]
                {
                    { new Guid("5f1a0000-0000-4000-8000-000000000001"), "Sft", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc), "{}", "Supervised fine-tuning: the model learns to produce the assistant turns of your examples. Only LoRA adapter weights train.", true, "SFT (LoRA)", "SFT (LORA)", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc) },
                    { new Guid("5f1a0000-0000-4000-8000-000000000002"), "Dpo", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc), "{}", "Direct Preference Optimization: raises the likelihood of chosen over rejected answers relative to the base model (the same model with the adapter disabled).", true, "DPO", "DPO", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc) },
                    { new Guid("5f1a0000-0000-4000-8000-000000000003"), "Grpo", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc), "{}", "Group Relative Policy Optimization: samples several answers per prompt, scores them with reward functions, and reinforces the better ones relative to their group.", true, "GRPO", "GRPO", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc) },
                    { new Guid("5f1a0000-0000-4000-8000-000000000004"), "Ppo", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc), "{}", "Proximal Policy Optimization with a learned value head and a reward model scoring sampled completions.", true, "PPO", "PPO", new DateTime(2026, 11, 22, 0, 0, 0, 0, DateTimeKind.Utc) }
                });

            migrationBuilder.CreateIndex(
                name: "IX_TrainingMethods_NameKey",
                table: "TrainingMethods",
                column: "NameKey",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "TrainingMethods");
        }
    }
}

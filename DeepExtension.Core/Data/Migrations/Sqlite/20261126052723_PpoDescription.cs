using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PpoDescription : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.UpdateData(
                table: "TrainingMethods",
                keyColumn: "Id",
                keyValue: new Guid("5f1a0000-0000-4000-8000-000000000004"),
                column: "Description",
                value: "Proximal Policy Optimization as TRL does it: a learned value head, a KL penalty to the base model, and the reward functions of GRPO scoring sampled completions.");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.UpdateData(
                table: "TrainingMethods",
                keyColumn: "Id",
                keyValue: new Guid("5f1a0000-0000-4000-8000-000000000004"),
                column: "Description",
                value: "Proximal Policy Optimization with a learned value head and a reward model scoring sampled completions.");
        }
    }
}

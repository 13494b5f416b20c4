using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class CreatedBy : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "TrainingRuns",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "TrainingMethods",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "ModelSaves",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "ModelDeployments",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "Datasets",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "CustomizedModels",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "CompleteModels",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CreatedBy",
                table: "BaseModels",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.UpdateData(
                table: "TrainingMethods",
                keyColumn: "Id",
                keyValue: new Guid("5f1a0000-0000-4000-8000-000000000001"),
                column: "CreatedBy",
                value: null);

            migrationBuilder.UpdateData(
                table: "TrainingMethods",
                keyColumn: "Id",
                keyValue: new Guid("5f1a0000-0000-4000-8000-000000000002"),
                column: "CreatedBy",
                value: null);

            migrationBuilder.UpdateData(
                table: "TrainingMethods",
                keyColumn: "Id",
                keyValue: new Guid("5f1a0000-0000-4000-8000-000000000003"),
                column: "CreatedBy",
                value: null);

            migrationBuilder.UpdateData(
                table: "TrainingMethods",
                keyColumn: "Id",
                keyValue: new Guid("5f1a0000-0000-4000-8000-000000000004"),
                column: "CreatedBy",
                value: null);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "TrainingRuns");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "TrainingMethods");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "ModelSaves");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "ModelDeployments");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "Datasets");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "CustomizedModels");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "CompleteModels");

            migrationBuilder.DropColumn(
                name: "CreatedBy",
                table: "BaseModels");
        }
    }
}

using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeepExtension.Core.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class TrainsDeletable : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_CustomizedModels_TrainingRuns_TrainingRunId",
                table: "CustomizedModels");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddForeignKey(
                name: "FK_CustomizedModels_TrainingRuns_TrainingRunId",
                table: "CustomizedModels",
                column: "TrainingRunId",
                principalTable: "TrainingRuns",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);
        }
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace DeepExtension.Core.Data;

// Used only by `dotnet ef migrations add`; the connection strings are never opened.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteDeepExtensionDbContext>
{
    public SqliteDeepExtensionDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteDeepExtensionDbContext>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerDeepExtensionDbContext>
{
    public SqlServerDeepExtensionDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqlServerDeepExtensionDbContext>().UseSqlServer("Server=design;Database=design").Options);
}

internal sealed class PostgreSqlDesignTimeFactory : IDesignTimeDbContextFactory<PostgreSqlDeepExtensionDbContext>
{
    public PostgreSqlDeepExtensionDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgreSqlDeepExtensionDbContext>().UseNpgsql("Host=design;Database=design").Options);
}

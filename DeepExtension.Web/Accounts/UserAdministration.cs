using DeepExtension.Core.Accounts;
using DeepExtension.Core.Audit;
using DeepExtension.Core.Data;
using DeepExtension.Core.Common;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Web.Accounts;

public sealed record UserRow(string Id, string Email, string Role, bool LockedOut);

/// <summary>What the Users page does: list users, add one with a role, change a role, unlock, remove. Admins only.</summary>
public sealed class UserAdministration(IServiceScopeFactory scopes, ICurrentUser currentUser, IDbContextFactory<DeepExtensionDbContext> dbFactory, TimeProvider clock)
{
    public const string EmailField = "Email";
    public const string PasswordField = "Password";

    public async Task<IReadOnlyList<UserRow>> ListAsync()
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var rows = new List<UserRow>();
        foreach (var user in await users.Users.AsNoTracking().OrderBy(u => u.Email).ToListAsync())
        {
            var role = (await users.GetRolesAsync(user)).FirstOrDefault() ?? Roles.Viewer;
            rows.Add(new UserRow(user.Id, user.Email ?? user.UserName ?? "", role, await users.IsLockedOutAsync(user)));
        }
        return rows;
    }

    public async Task<OperationResult<UserRow>> CreateAsync(string email, string password, string role)
    {
        if (currentUser.DenyAdmin() is { } denied) return OperationResult<UserRow>.Failure(OperationResult<UserRow>.General, denied);
        if (!Roles.All.Contains(role)) return OperationResult<UserRow>.Failure(OperationResult<UserRow>.General, $"Unknown role {role}.");
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var user = new ApplicationUser(email.Trim()) { EmailConfirmed = true };
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded) return Failure<UserRow>(created);
        var added = await users.AddToRoleAsync(user, role);
        if (!added.Succeeded) return Failure<UserRow>(added);
        await AuditAsync(AuditActions.Created, user, role);
        return OperationResult<UserRow>.Success(new UserRow(user.Id, user.Email!, role, false));
    }

    public async Task<OperationResult<bool>> SetRoleAsync(string userId, string role)
    {
        if (currentUser.DenyAdmin() is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (!Roles.All.Contains(role)) return OperationResult<bool>.Failure(OperationResult<bool>.General, $"Unknown role {role}.");
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        if (await users.FindByIdAsync(userId) is not { } user) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This user no longer exists.");
        var current = await users.GetRolesAsync(user);
        if (current.Contains(Roles.Admin) && role != Roles.Admin && await IsLastAdminAsync(users, user))
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "The last Admin cannot lose the role: make someone else Admin first.");
        var removed = await users.RemoveFromRolesAsync(user, current);
        if (!removed.Succeeded) return Failure<bool>(removed);
        var added = await users.AddToRoleAsync(user, role);
        // A new stamp ends the user's open circuits at their next check, so the new role applies everywhere.
        if (!added.Succeeded) return Failure<bool>(added);
        await users.UpdateSecurityStampAsync(user);
        await AuditAsync(AuditActions.RoleChanged, user, $"{string.Join(", ", current)} → {role}");
        return OperationResult<bool>.Success(true);
    }

    public async Task<OperationResult<bool>> UnlockAsync(string userId)
    {
        if (currentUser.DenyAdmin() is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        if (await users.FindByIdAsync(userId) is not { } user) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This user no longer exists.");
        await users.SetLockoutEndDateAsync(user, null);
        await users.ResetAccessFailedCountAsync(user);
        await AuditAsync(AuditActions.Unlocked, user, null);
        return OperationResult<bool>.Success(true);
    }

    public async Task<OperationResult<bool>> DeleteAsync(string userId)
    {
        if (currentUser.DenyAdmin() is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        if (await users.FindByIdAsync(userId) is not { } user) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This user no longer exists.");
        if (string.Equals(user.UserName, currentUser.Name, StringComparison.OrdinalIgnoreCase))
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "You cannot remove yourself.");
        if (await users.IsInRoleAsync(user, Roles.Admin) && await IsLastAdminAsync(users, user))
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "The last Admin cannot be removed.");
        var deleted = await users.DeleteAsync(user);
        if (!deleted.Succeeded) return Failure<bool>(deleted);
        await AuditAsync(AuditActions.Deleted, user, null);
        return OperationResult<bool>.Success(true);
    }

    private Task AuditAsync(string action, ApplicationUser user, string? detail) =>
        AuditTrail.WriteAsync(dbFactory, currentUser, clock, action, AuditObjects.User, user.Id, user.Email ?? user.UserName, detail);

    private static async Task<bool> IsLastAdminAsync(UserManager<ApplicationUser> users, ApplicationUser user) =>
        (await users.GetUsersInRoleAsync(Roles.Admin)).All(u => u.Id == user.Id);

    private static OperationResult<T> Failure<T>(IdentityResult result) =>
        OperationResult<T>.Failure(OperationResult<T>.General, string.Join(" ", result.Errors.Select(e => e.Description)));
}

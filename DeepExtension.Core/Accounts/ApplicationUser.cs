using Microsoft.AspNetCore.Identity;

namespace DeepExtension.Core.Accounts;

/// <summary>A person who signs in to the console (ASP.NET Core Identity, stored in the application database).</summary>
public sealed class ApplicationUser : IdentityUser
{
    public ApplicationUser()
    {
    }

    public ApplicationUser(string email) : base(email) => Email = email;
}

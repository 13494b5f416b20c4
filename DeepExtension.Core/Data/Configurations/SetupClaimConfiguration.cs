using DeepExtension.Core.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

internal sealed class SetupClaimConfiguration : IEntityTypeConfiguration<SetupClaim>
{
    public void Configure(EntityTypeBuilder<SetupClaim> builder)
    {
        builder.ToTable("SetupClaims");
        builder.HasKey(c => c.TokenHash);
        builder.Property(c => c.TokenHash).HasMaxLength(SetupClaim.TokenHashLength).ValueGeneratedNever();
    }
}

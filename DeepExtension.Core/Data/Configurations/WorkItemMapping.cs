using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeepExtension.Core.Data.Configurations;

/// <summary>The <see cref="WorkItem"/> columns, mapped the same way in each kind's own table.</summary>
internal static class WorkItemMapping
{
    public static void ConfigureWork<TItem>(this EntityTypeBuilder<TItem> builder, int failureReasonMaxLength) where TItem : WorkItem
    {
        builder.HasKey(i => i.Id);
        builder.Property(i => i.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(i => i.FailureReason).HasMaxLength(failureReasonMaxLength);
        builder.Ignore(i => i.Kind);
        builder.Ignore(i => i.IsFinished);
    }
}

using Xunit.Abstractions;
using Xunit.Sdk;

namespace DeepExtension.Tests.Support;

/// <summary>
/// The two test tiers, as xunit traits (modelled on Aspire's <c>OuterloopTest</c> and <c>RequiresPlaywright</c>).
/// The fast tier is everything not marked: <c>dotnet test --filter "Tier!=Outer"</c>. Plain <c>dotnet test</c> runs both.
/// </summary>
public static class TestTiers
{
    public const string Trait = "Tier";
    public const string Outer = "Outer";

    /// <summary>What an outer test needs from the machine, as the trait <c>Requires</c> (filter on it to leave one out).</summary>
    public const string RequiresTrait = "Requires";
    public const string Chromium = "Chromium";
    public const string PostgreSql = "PostgreSQL";
}

/// <summary>
/// An outer-tier test: it starts a console host, a worker or node process, a scheduler that runs work in worker
/// processes, or trains for many steps. <paramref name="reason"/> says which, for the reader.
/// </summary>
[TraitDiscoverer("DeepExtension.Tests.Support.OuterTierDiscoverer", "DeepExtension.Tests")]
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class OuterTierAttribute(string reason) : Attribute, ITraitAttribute
{
    public string Reason { get; } = reason;
}

/// <summary>An outer-tier test that drives Debian's Chromium through Playwright (it also starts a console host).</summary>
[TraitDiscoverer("DeepExtension.Tests.Support.RequiresChromiumDiscoverer", "DeepExtension.Tests")]
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresChromiumAttribute : Attribute, ITraitAttribute;

/// <summary>An outer-tier test that starts the private PostgreSQL cluster (<see cref="PostgresServer"/>).</summary>
[TraitDiscoverer("DeepExtension.Tests.Support.RequiresPostgreSqlDiscoverer", "DeepExtension.Tests")]
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresPostgreSqlAttribute : Attribute, ITraitAttribute;

public sealed class OuterTierDiscoverer : ITraitDiscoverer
{
    public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute) =>
        [new(TestTiers.Trait, TestTiers.Outer)];
}

public sealed class RequiresChromiumDiscoverer : ITraitDiscoverer
{
    public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute) =>
        [new(TestTiers.Trait, TestTiers.Outer), new(TestTiers.RequiresTrait, TestTiers.Chromium)];
}

public sealed class RequiresPostgreSqlDiscoverer : ITraitDiscoverer
{
    public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute) =>
        [new(TestTiers.Trait, TestTiers.Outer), new(TestTiers.RequiresTrait, TestTiers.PostgreSql)];
}

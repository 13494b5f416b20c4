namespace DeepExtension.Tests.Support;

/// <summary>
/// Test classes that use TorchSharp in this process run one at a time: native tensor handles shared across
/// concurrently running classes showed a rare use-after-free ("Unknown scalar type"). Other tests still run
/// beside them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}

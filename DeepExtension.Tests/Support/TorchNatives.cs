using System.Runtime.CompilerServices;
using DeepExtension.Jobs.Engine.Runtime;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Loads libtorch before any test runs. TorchSharp cannot find the bundled CPU libtorch by itself (it sits in
/// libtorch-cpu/lib so a CUDA libtorch can be loaded instead), so the first use of <c>torch</c> must come after
/// <see cref="TorchRuntime.EnsureInitialized"/>, as in the worker's entry points. Tests use torch directly in many
/// places; doing it once here keeps their order free.
/// </summary>
internal static class TorchNatives
{
#pragma warning disable CA2255 // A test assembly is the process's entry point in all but name: this is its start-up.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Load() => TorchRuntime.EnsureInitialized();
}

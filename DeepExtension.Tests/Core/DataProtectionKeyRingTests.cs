using DeepExtension.Tests.Support;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Core;

[OuterTier("starts the scheduler host, which runs work in worker processes")]
public sealed class DataProtectionKeyRingTests
{
    [Fact]
    public async Task KeyRing_SecretProtectedByOneProcess_IsKeptUnderTheDataRootAndReadByTheNext()
    {
        await using var env = await TestEnvironment.CreateAsync();
        string protectedText;
        await using (var first = await TrainingHost.StartAsync(env))
        {
            protectedText = first.Host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("a gated-model token");
        }

        Assert.NotEmpty(Directory.GetFiles(env.Directories.Keys, "key-*.xml"));
        // Another process over the same data root (a restarted console, a container rebuilt over the same volume).
        await using var second = await TrainingHost.StartAsync(env);
        Assert.Equal("a gated-model token", second.Host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(protectedText));
    }
}

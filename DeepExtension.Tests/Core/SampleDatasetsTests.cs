using DeepExtension.Core.Datasets;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Core;

public sealed class SampleDatasetsTests
{
    [Fact]
    public async Task AddSample_EachShippedSample_IsValidatedAndStoredWithItsKind()
    {
        await using var env = await TestEnvironment.CreateAsync();

        foreach (var sample in SampleDatasets.All)
        {
            var added = await env.Datasets.AddSampleAsync(sample.Key);

            Assert.True(added.Succeeded, $"{sample.Key}: {added.AllErrors}");
            Assert.Equal(sample.Name, added.Value!.Dataset.Name);
            Assert.Equal(sample.Kind, DatasetFormats.KindOf(added.Value.Version.Format));
            Assert.InRange(added.Value.Version.RowCount, 20, 100);
            Assert.Contains("CC0", added.Value.Dataset.Description);
        }
        Assert.Equal(SampleDatasets.All.Count, (await env.Datasets.ListAsync()).Count);
    }

    [Fact]
    public async Task AddSample_Twice_IsRefusedByTheNameRule()
    {
        await using var env = await TestEnvironment.CreateAsync();
        Assert.True((await env.Datasets.AddSampleAsync("chat")).Succeeded);

        var again = await env.Datasets.AddSampleAsync("chat");

        Assert.False(again.Succeeded);
        Assert.Contains("already used by another dataset", again.AllErrors);
    }
}

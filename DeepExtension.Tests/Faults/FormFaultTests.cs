using Bunit;
using DeepExtension.Core.Data;
using DeepExtension.Tests.Support;
using DeepExtension.Tests.Web;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components.Forms;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, fault 2: with the database refusing writes, saving an environment claimed a concurrent save and a dataset
/// upload ended the browser session. The forms over the real services and a real (immutable) SQLite file.
/// </summary>
public sealed class FormFaultTests : ComponentTestContext
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task DeploymentEnvironmentForm_DatabaseRefusesWrites_SaysSoAndSavesOnceItAcceptsThem()
    {
        var form = Render<DeploymentEnvironmentForm>();
        form.Find("input[data-testid=environment-name]").Input("local");
        form.Find("input[data-testid=environment-url]").Input("http://127.0.0.1:11434");

        using (UnwritableDatabase.Make(Env.Directories.DefaultSqliteFile))
        {
            form.Find("button[data-testid=save-environment]").Click();

            form.WaitForAssertion(() => Assert.StartsWith("The database refused the change, so nothing was saved:",
                form.Find("[data-testid=form-error]").TextContent.Trim()), Slow);
            Assert.DoesNotContain("same time", form.Markup);
        }
        Assert.Empty(await Env.DeploymentEnvironments.ListAsync());

        form.Find("button[data-testid=save-environment]").Click();

        await WaitUntilAsync(async () => (await Env.DeploymentEnvironments.ListAsync()).Count == 1);
    }

    [Fact]
    public async Task DatasetUploadForm_DatabaseRefusesWrites_ShowsTheErrorKeepsWorkingAndStoresOnceItAcceptsThem()
    {
        var form = Render<DatasetUploadForm>();
        form.Find("input[data-testid=dataset-name]").Input("support");
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(
            """{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}""" + "\n", "support.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);

        using (UnwritableDatabase.Make(Env.Directories.DefaultSqliteFile))
        {
            form.Find("button[data-testid=save-dataset]").Click();

            form.WaitForAssertion(() => Assert.Contains("The database refused the change, so nothing was saved:", form.Markup), Slow);
            Assert.DoesNotContain("same time", form.Markup);
        }
        Assert.Empty(await Env.Datasets.ListAsync());
        Assert.DoesNotContain(Directory.GetFiles(Env.Directories.Datasets, "*.jsonl", SearchOption.AllDirectories),
            f => !f.StartsWith(Env.Datasets.IncomingFolder, StringComparison.Ordinal)); // What it had placed was removed.

        // The form (and its circuit) still works: the same upload is stored once the database accepts writes.
        form.Find("button[data-testid=save-dataset]").Click();

        await WaitUntilAsync(async () => (await Env.Datasets.ListAsync()).Count == 1, () => form.Markup);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string>? shown = null)
    {
        // A dataset save copies, hashes and validates the file again; under a loaded full test run that takes a while.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"The save did not go through once the database accepted writes. The form:\n{shown?.Invoke()}");
            await Task.Delay(100);
        }
    }
}

using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Support;

/// <summary>
/// What a page shows when a browser test's expectation times out: where it is, the open dialog, the snackbars and
/// whether Blazor lost its circuit. A bare "timeout waiting for navigation" says nothing about why.
/// </summary>
public static class PageDiagnostics
{
    /// <summary>Waits for the page to reach <paramref name="url"/>; on timeout, fails with what the page shows instead.</summary>
    public static async Task WaitForUrlOrExplainAsync(this IPage page, Regex url, float timeoutMs = 30_000)
    {
        try
        {
            await page.WaitForURLAsync(url, new() { Timeout = timeoutMs });
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"The page did not reach {url} within {timeoutMs / 1000:0} s. {await DescribeAsync(page)}", e);
        }
    }

    public static async Task<string> DescribeAsync(IPage page)
    {
        static async Task<string> TextOf(ILocator locator) =>
            await locator.CountAsync() == 0 ? "(none)" : string.Join(" | ", await locator.AllInnerTextsAsync()).ReplaceLineEndings(" ");
        var reconnect = page.Locator("#components-reconnect-modal, .components-reconnect-show, .components-reconnect-failed");
        return $"URL: {page.Url}. Dialog: {await TextOf(page.Locator(".mud-dialog"))}. Snackbars: {await TextOf(page.Locator(".mud-snackbar"))}. " +
               $"Circuit: {(await reconnect.CountAsync() > 0 && await reconnect.First.IsVisibleAsync() ? "lost (the reconnect UI shows)" : "connected")}.";
    }
}

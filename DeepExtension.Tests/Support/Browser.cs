using Microsoft.Playwright;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Debian's Chromium (apt package "chromium") driven by Playwright; never a downloaded browser.
/// DEEPX_CHROMIUM overrides the executable path.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    public const string ExecutableVariable = "DEEPX_CHROMIUM";

    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser chromium)
    {
        _playwright = playwright;
        Chromium = chromium;
    }

    public IBrowser Chromium { get; }

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } custom ? custom : "/usr/bin/chromium";

    /// <summary>Where tests leave screenshots of the pages they drove (the README shows them).</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Browser tests need Debian's Chromium at {ExecutablePath}: run 'apt-get install chromium' (.ci/run does) or set {ExecutableVariable}.");
        }
        var playwright = await Playwright.CreateAsync();
        var chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // This machine has no network: background services would only produce refused connections.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
        return new Browser(playwright, chromium);
    }

    /// <summary>A page in a new browser context, signed in as <paramref name="account"/> (the test Admin unless told).</summary>
    public async Task<IPage> NewPageAsync(string baseUrl, TestAccount? account = null)
    {
        var page = await NewAnonymousPageAsync(baseUrl);
        await SignInAsync(page, account ?? TestAccount.Admin, "/");
        return page;
    }

    /// <summary>Signs in through the sign-in form and waits for the redirect to <paramref name="returnPath"/>.</summary>
    public static async Task SignInAsync(IPage page, TestAccount account, string returnPath)
    {
        await page.GotoAsync("/account/sign-in?ReturnUrl=" + Uri.EscapeDataString(returnPath));
        await page.Locator("#email").FillAsync(account.Email);
        await page.Locator("#password").FillAsync(account.Password);
        await page.Locator("[data-testid=sign-in]").ClickAsync();
        // The password hash (PBKDF2) is CPU work: when the test run starts many hosts at once it can take longer than a click.
        await page.WaitForURLAsync(url => !url.Contains("/account/sign-in", StringComparison.Ordinal), new() { Timeout = 60_000 });
    }

    /// <summary>A page in a new browser context that has not signed in.</summary>
    public async Task<IPage> NewAnonymousPageAsync(string baseUrl)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
            ColorScheme = ColorScheme.Light,
        });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>Opens a page and waits until its Blazor circuit is interactive (the layout marks it).</summary>
    public async Task<IPage> OpenAsync(string baseUrl, string path, TestAccount? account = null)
    {
        // Signing in with a return address lands on the page itself: one page load less per test.
        var page = await NewAnonymousPageAsync(baseUrl);
        await SignInAsync(page, account ?? TestAccount.Admin, path);
        await page.Locator("[data-interactive=true]").WaitForAsync();
        return page;
    }

    /// <summary>
    /// Opens the menu <paramref name="menuTestId"/> and clicks its item <paramref name="itemTestId"/>. A MudMenu's items
    /// live in a popover that Blazor may render again (or close) between Playwright finding an item and clicking it,
    /// most often on a busy machine, when the page's data arrives late: the menu is opened again and the click retried
    /// until it lands, within <paramref name="limit"/> (a minute unless told).
    /// </summary>
    public static async Task ChooseFromMenuAsync(IPage page, string menuTestId, string itemTestId, TimeSpan? limit = null)
    {
        var menu = page.GetByTestId(menuTestId);
        var item = page.GetByTestId(itemTestId);
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromMinutes(1));
        while (true)
        {
            try
            {
                if (!await item.IsVisibleAsync()) await menu.ClickAsync(new() { Timeout = 10_000 });
                await item.ClickAsync(new() { Timeout = 5_000 });
                return;
            }
            catch (PlaywrightException) when (DateTime.UtcNow < deadline)
            {
                // Detached or closed under the click: look again.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}

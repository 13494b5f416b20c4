using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Accounts;

/// <summary>Signing in, changing the password and signing out in Chromium.</summary>
public sealed class AccountsBrowserTests : ConsoleBrowserTest
{
    [Fact]
    public async Task Page_Anonymous_SignInLandsOnItAndSignOutLocksItAgain()
    {
        var page = await Chromium.NewAnonymousPageAsync(Host.Address);

        await page.GotoAsync("/datasets");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/sign-in\\?ReturnUrl=%2Fdatasets$"));
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"sign-in-{width}.png") });
        }
        await page.Locator("#email").FillAsync(TestAccount.Admin.Email);
        await page.Locator("#password").FillAsync(TestAccount.Admin.Password);
        await page.Locator("[data-testid=sign-in]").ClickAsync();

        await Assertions.Expect(page).ToHaveURLAsync($"{Host.Address}/datasets");
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await Assertions.Expect(page.Locator("[data-testid=user-name]")).ToHaveTextAsync(TestAccount.Admin.Email);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "signed-in-1280.png") });

        await page.Locator("[data-testid=sign-out]").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync($"{Host.Address}/account/sign-in");
        await page.GotoAsync("/datasets");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/sign-in"));
    }

    [Fact]
    public async Task ChangePassword_NewPassword_IsTheOneThatSignsIn()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/datasets");
        await page.GotoAsync("/account/password");

        await page.Locator("#current").FillAsync(TestAccount.Admin.Password);
        await page.Locator("#password").FillAsync("Changed-Passw0rd!");
        await page.Locator("#confirm").FillAsync("Changed-Passw0rd!");
        await page.Locator("[data-testid=change-password]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=password-changed]")).ToBeVisibleAsync();

        var old = await Chromium.NewAnonymousPageAsync(Host.Address);
        await old.GotoAsync("/account/sign-in");
        await old.Locator("#email").FillAsync(TestAccount.Admin.Email);
        await old.Locator("#password").FillAsync(TestAccount.Admin.Password);
        await old.Locator("[data-testid=sign-in]").ClickAsync();
        await Assertions.Expect(old.Locator("[data-testid=sign-in-error]")).ToHaveTextAsync("Wrong email or password.");
        await Chromium.OpenAsync(Host.Address, "/datasets", TestAccount.Admin with { Password = "Changed-Passw0rd!" });
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Accounts;

/// <summary>
/// Password and setup-token guessing over real HTTP: limits per client address and per account (429 with Retry-After),
/// tokens that survive a lockout anyone can trigger, and unknown emails that answer like known ones, in about the same time.
/// </summary>
public sealed partial class RateLimitTests : IAsyncLifetime
{
    private TestEnvironment _env = null!;
    private ConsoleHost _host = null!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync(migrate: false);
        _host = ConsoleHost.Start(_env.DataRoot);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _env.DisposeAsync();
    }

    private HttpClient NewClient() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(_host.Address) };

    private async Task<HttpResponseMessage> BasicTokenRequestAsync(HttpClient client, TestAccount account)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "t", expiresInDays = 7 }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{account.Email}:{account.Password}")));
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task TokenCreation_ManyAttemptsFromOneAddress_AnswerTooManyWithRetryAfter()
    {
        using var client = NewClient();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;

        // Each attempt names another account: only the per-address limit can stop them.
        for (var attempt = 0; attempt < 40 && refused is null; attempt++)
        {
            var response = await BasicTokenRequestAsync(client, new TestAccount($"guess{attempt}@deepx.test", "Guess-Passw0rd!"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
            else response.Dispose();
        }

        Assert.NotNull(refused);
        Assert.All(statuses.SkipLast(1), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.Equal(31, statuses.Count);
        Assert.True(refused!.Headers.RetryAfter?.Delta is { TotalSeconds: > 0 and <= 60 }, $"Retry-After: {refused.Headers.RetryAfter}");
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(429, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
        // The right password from this address waits too: the limit is on attempts, not on failures.
        using var admin = await BasicTokenRequestAsync(client, TestAccount.Admin);
        Assert.Equal(HttpStatusCode.TooManyRequests, admin.StatusCode);
        refused.Dispose();
    }

    [Fact]
    public async Task SignIn_ManyAttemptsOnOneAccount_AnswerTooManyWhileOtherAccountsStillSignIn()
    {
        using var client = NewClient();
        var victim = new TestAccount("victim@deepx.test", "not-the-password");
        var statuses = new List<HttpStatusCode>();

        for (var attempt = 0; attempt < 11; attempt++)
        {
            using var response = await victim.SignInAsync(client, client.BaseAddress!);
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses.Take(10), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[10]);
        using var other = await TestAccount.Admin.SignInAsync(client, client.BaseAddress!);
        Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);
    }

    [Fact]
    public async Task SetupPage_ManyRequestsFromOneAddress_AnswerTooMany()
    {
        using var client = NewClient();
        var statuses = new List<HttpStatusCode>();

        for (var attempt = 0; attempt < 31; attempt++)
        {
            using var response = await client.GetAsync($"/account/setup?token=guess{attempt}");
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses.Take(30), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[30]);
    }

    [Fact]
    public async Task LockedOutAccount_ItsApiTokensKeepWorking()
    {
        using var client = NewClient();
        using var created = await BasicTokenRequestAsync(client, TestAccount.Admin);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var token = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;

        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var failed = await (TestAccount.Admin with { Password = "not-the-password" }).SignInAsync(client, client.BaseAddress!);
        }
        using var locked = await TestAccount.Admin.SignInAsync(client, client.BaseAddress!);
        Assert.Contains("this account is locked", await locked.Content.ReadAsStringAsync());

        using var api = NewClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/trains")).StatusCode);
    }

    [Fact]
    public async Task SignIn_UnknownAndKnownEmails_AnswerAlikeInAboutTheSameTime()
    {
        using var client = NewClient();
        var known = TestAccount.Admin with { Password = "not-the-password" };
        var unknown = new TestAccount("nobody@deepx.test", "not-the-password");

        var knownAttempts = new List<(string Message, TimeSpan Took)>();
        var unknownAttempts = new List<(string Message, TimeSpan Took)>();
        // Alternating, so that load on the machine hits both alike; the fifth failure locks either.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            knownAttempts.Add(await TimedSignInAsync(client, known));
            unknownAttempts.Add(await TimedSignInAsync(client, unknown));
        }
        // Once locked, both answer the lock message, again after the same work.
        var lockedKnown = new List<(string Message, TimeSpan Took)>();
        var lockedUnknown = new List<(string Message, TimeSpan Took)>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            lockedKnown.Add(await TimedSignInAsync(client, known));
            lockedUnknown.Add(await TimedSignInAsync(client, unknown));
        }

        Assert.Equal(knownAttempts.Select(a => a.Message), unknownAttempts.Select(a => a.Message));
        Assert.Equal(lockedKnown.Select(a => a.Message), lockedUnknown.Select(a => a.Message));
        Assert.Equal("Wrong email or password.", knownAttempts[0].Message);
        Assert.Contains("this account is locked", knownAttempts[4].Message);
        Assert.Contains("this account is locked", lockedUnknown[0].Message);
        AssertSimilar(knownAttempts.Take(4), unknownAttempts.Take(4));
        AssertSimilar(lockedKnown, lockedUnknown);
    }

    private static void AssertSimilar(IEnumerable<(string Message, TimeSpan Took)> known, IEnumerable<(string Message, TimeSpan Took)> unknown)
    {
        var knownMedian = Median(known.Select(a => a.Took));
        var unknownMedian = Median(unknown.Select(a => a.Took));
        // A password hash is tens to hundreds of milliseconds, a lookup alone a few: a third either way is far from both.
        var ratio = unknownMedian.TotalMilliseconds / knownMedian.TotalMilliseconds;
        Assert.True(ratio is > 0.33 and < 3, $"known {knownMedian.TotalMilliseconds:F0} ms, unknown {unknownMedian.TotalMilliseconds:F0} ms");
    }

    private static TimeSpan Median(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static async Task<(string Message, TimeSpan Took)> TimedSignInAsync(HttpClient client, TestAccount account)
    {
        // The form is fetched first (as TestAccount.SignInAsync does), so only the post is timed.
        var html = await client.GetStringAsync("/account/sign-in");
        var token = WebUtility.HtmlDecode(Antiforgery().Match(html).Groups[1].Value);
        var watch = Stopwatch.StartNew();
        using var response = await client.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "sign-in",
            ["__RequestVerificationToken"] = token,
            ["Input.Email"] = account.Email,
            ["Input.Password"] = account.Password,
        }));
        var body = await response.Content.ReadAsStringAsync();
        watch.Stop();
        var message = ErrorAlert().Match(body) is { Success: true } m ? WebUtility.HtmlDecode(Regex.Replace(m.Groups[1].Value, "<[^>]+>", "")).Trim() : $"({(int)response.StatusCode})";
        return (message, watch.Elapsed);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();

    [GeneratedRegex("data-testid=\"sign-in-error\".*?class=\"mud-alert-message\">(.*?)</div>", RegexOptions.Singleline)]
    private static partial Regex ErrorAlert();
}

using System.Net;
using System.Text.RegularExpressions;

namespace DeepExtension.Tests.Support;

/// <summary>Credentials a test signs in with; <see cref="Admin"/> is the one the test hosts create at start-up.</summary>
public sealed partial record TestAccount(string Email, string Password)
{
    public static TestAccount Admin { get; } = new("admin@deepx.test", "Admin-Passw0rd!");

    /// <summary>Signs in through the real sign-in form (antiforgery token included); the cookie lands in the client's cookie container.</summary>
    public async Task<HttpResponseMessage> SignInAsync(HttpMessageInvoker client, Uri baseAddress, CancellationToken cancellationToken = default)
    {
        var signInUri = new Uri(baseAddress, "/account/sign-in");
        using var get = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, signInUri), cancellationToken);
        var html = await get.Content.ReadAsStringAsync(cancellationToken);
        var token = AntiforgeryField().Match(html) is { Success: true } m
            ? WebUtility.HtmlDecode(m.Groups[1].Value)
            : throw new InvalidOperationException($"The sign-in page ({(int)get.StatusCode}) has no antiforgery token.");
        var post = new HttpRequestMessage(HttpMethod.Post, signInUri)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "sign-in",
                ["__RequestVerificationToken"] = token,
                ["Input.Email"] = Email,
                ["Input.Password"] = Password,
            }),
        };
        return await client.SendAsync(post, cancellationToken);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

/// <summary>An HttpClient pipeline that signs in once, before its first request, and keeps the cookie.</summary>
internal sealed class SignInOnFirstRequestHandler(Uri baseAddress, TestAccount account) : DelegatingHandler(
    new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true })
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _signedIn;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!_signedIn)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (!_signedIn)
                {
                    using var response = await account.SignInAsync(new HttpMessageInvoker(InnerHandler!, disposeHandler: false), baseAddress, cancellationToken);
                    var cookies = ((HttpClientHandler)InnerHandler!).CookieContainer.GetCookies(baseAddress);
                    if (cookies["DeepExtension.Auth"] is null)
                    {
                        throw new InvalidOperationException($"Signing in as {account.Email} failed ({(int)response.StatusCode}).");
                    }
                    _signedIn = true;
                }
            }
            finally
            {
                _gate.Release();
            }
        }
        return await base.SendAsync(request, cancellationToken);
    }
}

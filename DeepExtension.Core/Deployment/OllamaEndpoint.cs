using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace DeepExtension.Core.Deployment;

/// <summary>
/// The one place that handles credentials in Ollama URLs (<c>http://user:secret@host:11434</c>, an Ollama behind a
/// reverse proxy with Basic auth). The stored URL keeps its shape, but its user-info part is replaced by the
/// Data-Protection-encrypted user-info with a <see cref="ProtectedPrefix"/> (no schema change). Pages, logs, errors,
/// the audit trail and the API show <see cref="Mask"/>'s form, <c>http://***@host:11434</c>; only
/// <see cref="Configure"/> decrypts, and it sends the credentials as a Basic Authorization header, never in the URL.
/// URLs stored by earlier versions with plain user-info keep working and are protected at start-up
/// (<see cref="DeploymentEnvironmentService.ProtectStoredCredentialsAsync"/>) or on their next save.
/// </summary>
public sealed class OllamaEndpoint(IDataProtectionProvider dataProtection)
{
    /// <summary>What stands for the credentials wherever a URL is shown.</summary>
    public const string MaskedUserInfo = "***";

    /// <summary>Marks a user-info part that is Data Protection ciphertext (base64url, so valid in a URL as it is).</summary>
    public const string ProtectedPrefix = "dp1.";

    private readonly IDataProtector _protector = dataProtection.CreateProtector("DeepExtension.Deployment.OllamaEndpoint.Credentials.v1");

    /// <summary>The URL to store: plain credentials encrypted, an already protected or credential-free URL as it is.</summary>
    public string Protect(string url)
    {
        var (address, userInfo) = Split(url);
        if (userInfo is null || userInfo.StartsWith(ProtectedPrefix, StringComparison.Ordinal)) return url;
        var cipher = _protector.Protect(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(userInfo)));
        return Join(address, ProtectedPrefix + Base64UrlEncode(cipher));
    }

    /// <summary>True when the URL carries credentials in plain text (a row written before they were protected).</summary>
    public static bool HasPlainCredentials(string url) =>
        Split(url).UserInfo is { } userInfo && !userInfo.StartsWith(ProtectedPrefix, StringComparison.Ordinal) && userInfo != MaskedUserInfo;

    /// <summary>True when the URL's credentials are the display mask (a form submitted back unchanged).</summary>
    public static bool IsMasked(string url) => Split(url).UserInfo == MaskedUserInfo;

    /// <summary>The URL to show: any credentials, plain or protected, become <see cref="MaskedUserInfo"/>.</summary>
    public static string Mask(string url)
    {
        var (address, userInfo) = Split(url);
        return userInfo is null ? url : Join(address, MaskedUserInfo);
    }

    /// <summary>
    /// A URL submitted with the mask in place of its credentials (an edit form showing <see cref="Mask"/>'s form) keeps
    /// the stored credentials; any other URL is taken as submitted.
    /// </summary>
    public static string KeepCredentials(string submitted, string? stored)
    {
        if (!IsMasked(submitted)) return submitted;
        var address = WithoutCredentials(submitted);
        return stored is not null && Split(stored).UserInfo is { } userInfo && userInfo != MaskedUserInfo ? Join(address, userInfo) : address;
    }

    /// <summary>The URL without credentials: the same server, for grouping and comparing.</summary>
    public static string WithoutCredentials(string url) => Split(url).Address;

    /// <summary>Points an HttpClient at the server; the credentials, if any, go in a Basic Authorization header.</summary>
    public void Configure(HttpClient http, string url)
    {
        var (address, userInfo) = Split(url);
        http.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        if (userInfo is null || userInfo == MaskedUserInfo) return;
        var plain = userInfo.StartsWith(ProtectedPrefix, StringComparison.Ordinal)
            ? Encoding.UTF8.GetString(_protector.Unprotect(Base64UrlDecode(userInfo[ProtectedPrefix.Length..])))
            : Uri.UnescapeDataString(userInfo);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(plain)));
    }

    /// <summary>The URL without its user-info, and the user-info as written (still escaped), or null when there is none.</summary>
    private static (string Address, string? UserInfo) Split(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.UserInfo)) return (url, null);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var at = url.IndexOf('@', schemeEnd);
        var slash = url.IndexOf('/', schemeEnd);
        // The last '@' before the path ends the user-info (a password may not contain a raw '@', but be lenient).
        var hostStart = slash < 0 ? url.LastIndexOf('@') : url.LastIndexOf('@', slash);
        if (at < 0 || hostStart < schemeEnd) return (url, null);
        return (url[..schemeEnd] + url[(hostStart + 1)..], url[schemeEnd..hostStart]);
    }

    private static string Join(string address, string userInfo)
    {
        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal) + 3;
        return address[..schemeEnd] + userInfo + "@" + address[schemeEnd..];
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Base64UrlDecode(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
    }
}

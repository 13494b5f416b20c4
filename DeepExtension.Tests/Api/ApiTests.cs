using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Data;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Api;

/// <summary>/api/v1 over real HTTP against the real console: tokens, refusals, problem details, the role matrix.</summary>
[OuterTier("starts the console host")]
public sealed class ApiTests : IAsyncLifetime
{
    private static readonly TestAccount Member = new("member@deepx.test", "Member-Passw0rd!");
    private static readonly TestAccount Viewer = new("viewer@deepx.test", "Viewer-Passw0rd!");

    private readonly ConsoleHostFixture _console = new();

    public async Task InitializeAsync()
    {
        await _console.InitializeAsync();
        var users = _console.Host.Services.GetRequiredService<UserAdministration>();
        Assert.True((await users.CreateAsync(Member.Email, Member.Password, Roles.Member)).Succeeded);
        Assert.True((await users.CreateAsync(Viewer.Email, Viewer.Password, Roles.Viewer)).Succeeded);
    }

    public Task DisposeAsync() => _console.DisposeAsync();

    private HttpClient Anonymous() => _console.Host.CreateAnonymousClient();

    private async Task<string> TokenForAsync(TestAccount account, string name = "test", int days = 7)
    {
        using var client = Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name, expiresInDays = days }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{account.Email}:{account.Password}")));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        Assert.StartsWith(ApiToken.Prefix, token);
        return token;
    }

    private HttpClient WithToken(string token)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<JsonElement> ProblemOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    [Fact]
    public async Task Api_NoCredentials_Answers401ProblemDetailsNotTheSignInPage()
    {
        using var client = Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/base-models");
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        await ProblemOf(response);
    }

    [Fact]
    public async Task Token_Lifecycle_WorksUpdatesLastUseThenExpiresAndRevokes()
    {
        var token = await TokenForAsync(TestAccount.Admin, "lifecycle");
        using var client = WithToken(token);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/base-models")).StatusCode);
        var listed = (await client.GetFromJsonAsync<JsonElement>("/api/v1/tokens")).EnumerateArray().Single(t => t.GetProperty("name").GetString() == "lifecycle");
        Assert.Equal(JsonValueKind.String, listed.GetProperty("lastUsedAtUtc").ValueKind);
        Assert.StartsWith(listed.GetProperty("hint").GetString()!, token);

        // Stored hashed: the token itself is nowhere in the database.
        var dbFactory = _console.Host.Services.GetRequiredService<IDbContextFactory<DeepExtensionDbContext>>();
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            var row = await db.ApiTokens.SingleAsync(t => t.Name == "lifecycle");
            Assert.Equal(ApiToken.HashOf(token), row.TokenHash);
            Assert.DoesNotContain(token, row.TokenHash + row.Hint);
        }

        // Expired: refused.
        var expiring = await TokenForAsync(TestAccount.Admin, "expiring");
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            await db.ApiTokens.Where(t => t.Name == "expiring").ExecuteUpdateAsync(u => u.SetProperty(t => t.ExpiresAtUtc, DateTime.UtcNow.AddMinutes(-1)));
        }
        using (var expired = WithToken(expiring))
        {
            using var refused = await expired.GetAsync("/api/v1/base-models");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            await ProblemOf(refused);
        }

        // Revoked: refused from the next request on.
        var id = listed.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/base-models")).StatusCode);
        // A made-up token, too.
        using var guessed = WithToken(ApiToken.NewSecret());
        Assert.Equal(HttpStatusCode.Unauthorized, (await guessed.GetAsync("/api/v1/base-models")).StatusCode);
    }

    [Fact]
    public async Task Tokens_WrongBasicPassword_Is401AndBasicWorksOnlyForCreatingTokens()
    {
        using var client = Anonymous();
        var wrong = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestAccount.Admin.Email}:wrong"));
        var right = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestAccount.Admin.Email}:{TestAccount.Admin.Password}"));
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "x" }) };
        post.Headers.Authorization = new AuthenticationHeaderValue("Basic", wrong);
        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/v1/base-models");
        get.Headers.Authorization = new AuthenticationHeaderValue("Basic", right);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(post)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(get)).StatusCode);
    }

    [Fact]
    public async Task CookieRequest_UnsafeWithoutAntiforgery_IsRefusedButReadsWork()
    {
        using var browser = _console.Host.CreateLoopbackClient();

        using var read = await browser.GetAsync("/api/v1/base-models");
        using var forged = await browser.PostAsJsonAsync("/api/v1/tokens", new { name = "forged" });

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(global::DeepExtension.Web.Api.ApiAntiforgeryFilter.Message, (await ProblemOf(forged)).GetProperty("detail").GetString());
        await using var db = await _console.Host.Services.GetRequiredService<IDbContextFactory<DeepExtensionDbContext>>().CreateDbContextAsync();
        Assert.Empty(await db.ApiTokens.ToListAsync());
    }

    [Fact]
    public async Task RegisterBaseModel_InvalidFields_ValidationProblemWithTheFormsMessages()
    {
        using var client = WithToken(await TokenForAsync(TestAccount.Admin));

        using var response = await client.PostAsJsonAsync("/api/v1/base-models", new { technicalName = "bad name!", modelName = "", path = "../outside" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await ProblemOf(response)).GetProperty("errors");
        Assert.Equal("The model name is required.", errors.GetProperty("ModelName")[0].GetString());
        Assert.True(errors.TryGetProperty("TechnicalName", out _));
        Assert.True(errors.TryGetProperty("Path", out _));
    }

    [Fact]
    public async Task StartTrain_Accepted_202WithTheLocationToPoll()
    {
        var path = _console.Env.AddModelFolder("tiny-qwen2");
        using var client = WithToken(await TokenForAsync(Member));
        var model = await (await client.PostAsJsonAsync("/api/v1/base-models", new { technicalName = "tiny", modelName = "Tiny", path })).Content.ReadFromJsonAsync<JsonElement>();
        var version = await UploadAsync(client, "chats", TrainingHost.TwentyChats());
        var method = (await client.GetFromJsonAsync<JsonElement>("/api/v1/training-methods")).EnumerateArray()
            .First(m => m.GetProperty("isBuiltIn").GetBoolean() && m.GetProperty("algorithm").GetString() == "Sft");

        using var started = await client.PostAsJsonAsync("/api/v1/trains", new
        {
            name = "api-train", baseModelId = model.GetProperty("id").GetString(), datasetVersionId = version, methodId = method.GetProperty("id").GetString(),
            parameters = new { num_epochs = 1, max_tokens = 32 }, device = "cpu",
        });

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var location = started.Headers.Location!.OriginalString;
        Assert.Matches("^/api/v1/trains/[0-9a-f-]{36}$", location);
        var polled = await client.GetFromJsonAsync<JsonElement>(location);
        Assert.Equal("api-train", polled.GetProperty("name").GetString());
        Assert.Equal(Member.Email, polled.GetProperty("createdBy").GetString());
        // Where it runs, once its worker reports the device.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (polled.GetProperty("deviceUsed").ValueKind == JsonValueKind.Null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            polled = await client.GetFromJsonAsync<JsonElement>(location);
        }
        Assert.Equal(("cpu", 1), (polled.GetProperty("deviceUsed").GetString(), polled.GetProperty("attempts").GetInt32()));
        Assert.False(string.IsNullOrEmpty(polled.GetProperty("nodeName").GetString()));
        using var cancelled = await client.PostAsync(location + "/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        Assert.Equal(location, cancelled.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task StartTrain_CheckpointingAndPacking_AreValidatedRecordedAndUsedByTheWorker()
    {
        var path = _console.Env.AddModelFolder("tiny-qwen2");
        using var client = WithToken(await TokenForAsync(Member));
        var model = await (await client.PostAsJsonAsync("/api/v1/base-models", new { technicalName = "tiny", modelName = "Tiny", path })).Content.ReadFromJsonAsync<JsonElement>();
        var version = await UploadAsync(client, "chats", TrainingHost.TwentyChats());
        var method = (await client.GetFromJsonAsync<JsonElement>("/api/v1/training-methods")).EnumerateArray()
            .First(m => m.GetProperty("isBuiltIn").GetBoolean() && m.GetProperty("algorithm").GetString() == "Sft");
        Assert.Equal("off", method.GetProperty("defaults").GetProperty("gradient_checkpointing").GetString());
        Assert.True(method.GetProperty("defaults").GetProperty("packing").GetBoolean());
        object Request(string checkpointing) => new
        {
            name = "api-ckpt", baseModelId = model.GetProperty("id").GetString(), datasetVersionId = version, methodId = method.GetProperty("id").GetString(),
            parameters = new Dictionary<string, object> { ["num_epochs"] = 1, ["max_tokens"] = 48, ["gradient_checkpointing"] = checkpointing, ["packing"] = true },
            device = "cpu",
        };

        using var refused = await client.PostAsJsonAsync("/api/v1/trains", Request("full"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("Gradient checkpointing must be one of off, layer, offload.",
            (await ProblemOf(refused)).GetProperty("errors").GetProperty("gradient_checkpointing")[0].GetString());

        using var started = await client.PostAsJsonAsync("/api/v1/trains", Request("layer"));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var location = started.Headers.Location!.OriginalString;
        var polled = await client.GetFromJsonAsync<JsonElement>(location);
        Assert.Equal("layer", polled.GetProperty("parameters").GetProperty("gradient_checkpointing").GetString());
        Assert.True(polled.GetProperty("parameters").GetProperty("packing").GetBoolean());
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (polled.GetProperty("status").GetString() is "Queued" or "Running" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            polled = await client.GetFromJsonAsync<JsonElement>(location);
        }
        Assert.Equal("Succeeded", polled.GetProperty("status").GetString());
        var log = await client.GetStringAsync(location + "/log");
        Assert.Contains("Gradient checkpointing by layer", log);
        Assert.Contains("packing on", log);
    }

    private static async Task<string> UploadAsync(HttpClient client, string name, string jsonl)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(name), "name" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(jsonl)), "file", $"{name}.jsonl" },
        };
        using var response = await client.PostAsync("/api/v1/datasets", form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetProperty("id").GetString()!;
    }

    public static TheoryData<string, string, string, HttpStatusCode> Matrix() => new()
    {
        // role, method, path ({model} is a base model the Admin registered), expected
        { Roles.Admin, "GET", "/api/v1/base-models", HttpStatusCode.OK },
        { Roles.Member, "GET", "/api/v1/base-models", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/api/v1/base-models", HttpStatusCode.OK },
        { Roles.Admin, "POST", "/api/v1/base-models", HttpStatusCode.Created },
        { Roles.Member, "POST", "/api/v1/base-models", HttpStatusCode.Created },
        { Roles.Viewer, "POST", "/api/v1/base-models", HttpStatusCode.Forbidden },
        { Roles.Admin, "DELETE", "/api/v1/base-models/{model}", HttpStatusCode.NoContent },
        { Roles.Member, "DELETE", "/api/v1/base-models/{model}", HttpStatusCode.Forbidden },
        { Roles.Viewer, "DELETE", "/api/v1/base-models/{model}", HttpStatusCode.Forbidden },
        { Roles.Admin, "POST", "/api/v1/datasets", HttpStatusCode.Created },
        { Roles.Member, "POST", "/api/v1/datasets", HttpStatusCode.Created },
        { Roles.Viewer, "POST", "/api/v1/datasets", HttpStatusCode.Forbidden },
        // Unknown ids: who may start gets the form's validation, a Viewer is refused before that.
        { Roles.Admin, "POST", "/api/v1/trains", HttpStatusCode.BadRequest },
        { Roles.Member, "POST", "/api/v1/trains", HttpStatusCode.BadRequest },
        { Roles.Viewer, "POST", "/api/v1/trains", HttpStatusCode.Forbidden },
        { Roles.Member, "POST", "/api/v1/customized-models/{random}/save", HttpStatusCode.NotFound },
        { Roles.Viewer, "POST", "/api/v1/customized-models/{random}/save", HttpStatusCode.Forbidden },
        { Roles.Viewer, "GET", "/api/v1/trains", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/api/v1/datasets", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/api/v1/training-methods", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/api/v1/customized-models", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/api/v1/complete-models", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/api/v1/deployments", HttpStatusCode.OK },
        { Roles.Viewer, "GET", "/openapi/v1.json", HttpStatusCode.OK },
        { Roles.Viewer, "DELETE", "/api/v1/deployments/{random}", HttpStatusCode.NotFound },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task RoleMatrix_EachRoleAndAction_AnswersAsTheServicesRule(string role, string method, string path, HttpStatusCode expected)
    {
        var account = role switch { Roles.Admin => TestAccount.Admin, Roles.Member => Member, _ => Viewer };
        using var admin = WithToken(await TokenForAsync(TestAccount.Admin));
        var folder = _console.Env.AddModelFolder("tiny-qwen2");
        var model = await (await admin.PostAsJsonAsync("/api/v1/base-models", new { technicalName = "admins", modelName = "Admins", path = folder }))
            .Content.ReadFromJsonAsync<JsonElement>();
        using var client = WithToken(await TokenForAsync(account));
        using var request = new HttpRequestMessage(new HttpMethod(method),
            path.Replace("{model}", model.GetProperty("id").GetString()).Replace("{random}", Guid.NewGuid().ToString()));
        request.Content = (method, path) switch
        {
            ("POST", "/api/v1/base-models") => JsonContent.Create(new { technicalName = $"by-{role}", modelName = $"By {role}", path = folder }),
            ("POST", "/api/v1/datasets") => new MultipartFormDataContent
            {
                { new StringContent($"data-{role}"), "name" },
                { new ByteArrayContent(Encoding.UTF8.GetBytes(TrainingHost.TwentyChats())), "file", "chats.jsonl" },
            },
            ("POST", "/api/v1/trains") => JsonContent.Create(new { name = "x", baseModelId = Guid.NewGuid(), datasetVersionId = Guid.NewGuid(), methodId = Guid.NewGuid() }),
            _ => null,
        };

        using var response = await client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        if ((int)expected >= 400)
        {
            var problem = await ProblemOf(response);
            if (expected == HttpStatusCode.Forbidden)
                Assert.Contains(problem.GetProperty("detail").GetString(), new[] { Access.ViewerMessage, Access.NotYours("delete it") });
        }
    }

    [Fact]
    public async Task OpenApi_SignedIn_DescribesEveryResource()
    {
        using var client = WithToken(await TokenForAsync(Viewer));

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[] { "/api/v1/base-models", "/api/v1/datasets", "/api/v1/datasets/{id}/versions", "/api/v1/training-methods",
                     "/api/v1/trains", "/api/v1/trains/{id}/metrics", "/api/v1/trains/{id}/log", "/api/v1/customized-models/{id}/save",
                     "/api/v1/complete-models/{id}/deploy", "/api/v1/deployments/{id}", "/api/v1/tokens" })
        {
            Assert.Contains(expected, paths);
        }
    }
}

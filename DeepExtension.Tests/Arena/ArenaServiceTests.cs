using DeepExtension.Core.Accounts;
using DeepExtension.Core.Arena;
using DeepExtension.Core.Audit;
using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Tests.Arena;

/// <summary>Arena votes over a real SQLite database, with two models deployed to the fake Ollama.</summary>
public sealed class ArenaServiceTests : IAsyncLifetime
{
    private static readonly TestUser Member = new("member@deepx.test", Roles.Member);
    private static readonly TestUser Viewer = new("viewer@deepx.test", Roles.Viewer);

    private TestEnvironment _env = null!;
    private FakeOllamaServer _ollama = null!;
    private ModelDeployment _alpha = null!;
    private ModelDeployment _beta = null!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync();
        _ollama = await FakeOllamaServer.StartAsync();
        (_, _alpha) = await DeploymentFixture.DeployedAsync(_env, _ollama, name: "alpha:q8_0", reference: "tiny-llama");
        (_, _beta) = await DeploymentFixture.DeployedAsync(_env, _ollama, name: "beta:q8_0", reference: "tiny-qwen2", environmentId: _alpha.EnvironmentId);
    }

    public async Task DisposeAsync()
    {
        await _ollama.DisposeAsync();
        await _env.DisposeAsync();
    }

    private ArenaService ArenaAs(ICurrentUser user) => new(_env.DbFactory, TimeProvider.System, user);

    [Fact]
    public async Task RecordVoteAsync_Member_StoresTheRoundWithNamesFromTheDeploymentsAndAnAuditEntry()
    {
        var result = await ArenaAs(Member).RecordVoteAsync(new ArenaVoteRequest(_beta.Id, _alpha.Id, "  What is 2+2?  ", "4", "Four, I think.", ArenaVerdict.B));

        Assert.True(result.Succeeded, result.AllErrors);
        await using var db = await _env.DbFactory.CreateDbContextAsync();
        var vote = await db.ArenaVotes.SingleAsync();
        Assert.Equal((_beta.Id, "beta:q8_0", _alpha.Id, "alpha:q8_0"), (vote.ModelAId, vote.ModelAName, vote.ModelBId, vote.ModelBName));
        Assert.Equal(("What is 2+2?", "4", "Four, I think.", ArenaVerdict.B, "member@deepx.test"), (vote.Prompt, vote.AnswerA, vote.AnswerB, vote.Verdict, vote.CreatedBy));
        Assert.True((DateTime.UtcNow - vote.CreatedAtUtc).Duration() < TimeSpan.FromMinutes(1));
        var audit = await db.AuditEntries.SingleAsync(e => e.ObjectKind == AuditObjects.ArenaVote);
        Assert.Equal((AuditActions.Voted, "member@deepx.test", vote.Id.ToString(), "beta:q8_0 vs alpha:q8_0", "alpha:q8_0 better"),
            (audit.Action, audit.Actor, audit.ObjectId, audit.ObjectName, audit.Detail));
    }

    [Fact]
    public async Task TallyAsync_VotesOnBothSides_CountsWinsTiesBothBadAndLossesFromEachModelsSide()
    {
        var arena = ArenaAs(Member);
        // alpha wins twice (once shown as A, once as B), beta once, one tie, one "both bad".
        ArenaVoteRequest[] votes =
        [
            new(_alpha.Id, _beta.Id, "p1", "a1", "b1", ArenaVerdict.A),
            new(_beta.Id, _alpha.Id, "p2", "b2", "a2", ArenaVerdict.B),
            new(_beta.Id, _alpha.Id, "p3", "b3", "a3", ArenaVerdict.A),
            new(_alpha.Id, _beta.Id, "p4", "a4", "b4", ArenaVerdict.Tie),
            new(_beta.Id, _alpha.Id, "p5", "b5", "a5", ArenaVerdict.BothBad),
        ];
        foreach (var vote in votes) Assert.True((await arena.RecordVoteAsync(vote)).Succeeded);

        var alphaSide = await arena.TallyAsync(_alpha.Id, _beta.Id);
        var betaSide = await arena.TallyAsync(_beta.Id, _alpha.Id);
        var all = await arena.TalliesAsync();

        Assert.Equal(new ArenaPairTally(_alpha.Id, "alpha:q8_0", _beta.Id, "beta:q8_0", Wins: 2, Ties: 1, BothBad: 1, Losses: 1), alphaSide);
        Assert.Equal(new ArenaPairTally(_beta.Id, "beta:q8_0", _alpha.Id, "alpha:q8_0", Wins: 1, Ties: 1, BothBad: 1, Losses: 2), betaSide);
        Assert.Equal([alphaSide], all);
        Assert.Equal(5, alphaSide.Total);
    }

    [Fact]
    public async Task RecordVoteAsync_Viewer_IsRefusedAndRecordsNothing()
    {
        var result = await ArenaAs(Viewer).RecordVoteAsync(new ArenaVoteRequest(_alpha.Id, _beta.Id, "p", "a", "b", ArenaVerdict.A));

        Assert.False(result.Succeeded);
        Assert.Equal(Access.ViewerMessage, result.AllErrors);
        await using var db = await _env.DbFactory.CreateDbContextAsync();
        Assert.Empty(await db.ArenaVotes.ToListAsync());
        Assert.Empty(await db.AuditEntries.Where(e => e.ObjectKind == AuditObjects.ArenaVote).ToListAsync());
    }

    [Fact]
    public async Task RecordVoteAsync_SameModelTwiceOrARemovedDeployment_IsRefused()
    {
        var arena = ArenaAs(Member);

        var same = await arena.RecordVoteAsync(new ArenaVoteRequest(_alpha.Id, _alpha.Id, "p", "a", "b", ArenaVerdict.A));
        var removed = await arena.RecordVoteAsync(new ArenaVoteRequest(_alpha.Id, Guid.NewGuid(), "p", "a", "b", ArenaVerdict.A));

        Assert.Contains("two different models", same.AllErrors);
        Assert.Contains("no longer deployed", removed.AllErrors);
        Assert.Empty(await arena.TalliesAsync());
    }

    private sealed record TestUser(string Name, string Role) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => role == Role;
    }
}

using DeepExtension.Core.Accounts;
using DeepExtension.Core.Audit;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Arena;

/// <summary>A finished arena round as the page submits it: the deployments as shown (A left, B right), the prompt, both answers, the verdict.</summary>
public sealed record ArenaVoteRequest(Guid ModelAId, Guid ModelBId, string Prompt, string AnswerA, string AnswerB, ArenaVerdict Verdict);

/// <summary>
/// The record of two models against each other, from <see cref="First"/>'s side: its wins, the ties (both bad counted
/// apart) and its losses (<see cref="Second"/>'s wins), whichever side each was shown on.
/// </summary>
public sealed record ArenaPairTally(Guid First, string FirstName, Guid Second, string SecondName, int Wins, int Ties, int BothBad, int Losses)
{
    public int Total => Wins + Ties + BothBad + Losses;
}

/// <summary>Records arena votes (Admins and Members; Viewers may chat but not vote) and tallies them per pair of models.</summary>
public sealed class ArenaService(IDbContextFactory<DeepExtensionDbContext> dbFactory, TimeProvider clock, ICurrentUser? currentUser = null)
{
    public const string General = OperationResult<ArenaVote>.General;

    public async Task<OperationResult<ArenaVote>> RecordVoteAsync(ArenaVoteRequest request, CancellationToken cancellationToken = default)
    {
        var user = currentUser ?? SystemUser.Instance;
        if (user.DenyChange() is { } denied) return OperationResult<ArenaVote>.Failure(General, denied);
        if (request.ModelAId == request.ModelBId) return OperationResult<ArenaVote>.Failure(General, "An arena compares two different models.");
        if (string.IsNullOrWhiteSpace(request.Prompt)) return OperationResult<ArenaVote>.Failure(General, "There is no prompt to vote on.");
        if (!Enum.IsDefined(request.Verdict)) return OperationResult<ArenaVote>.Failure(General, "Choose A, B, tie or both bad.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // The names come from the deployments themselves, not from the caller.
        var deployments = await db.ModelDeployments.AsNoTracking()
            .Where(d => (d.Id == request.ModelAId || d.Id == request.ModelBId) && d.Status == WorkStatus.Succeeded)
            .ToDictionaryAsync(d => d.Id, d => d.OllamaModel, cancellationToken);
        if (!deployments.TryGetValue(request.ModelAId, out var nameA) || !deployments.TryGetValue(request.ModelBId, out var nameB))
            return OperationResult<ArenaVote>.Failure(General, "One of the two models is no longer deployed; the vote was not recorded.");
        var vote = new ArenaVote
        {
            Id = Guid.CreateVersion7(),
            CreatedAtUtc = clock.GetUtcNow().UtcDateTime,
            CreatedBy = user.Name,
            ModelAId = request.ModelAId,
            ModelAName = nameA,
            ModelBId = request.ModelBId,
            ModelBName = nameB,
            Prompt = request.Prompt.Trim(),
            AnswerA = request.AnswerA,
            AnswerB = request.AnswerB,
            Verdict = request.Verdict,
        };
        db.ArenaVotes.Add(vote);
        AuditTrail.Add(db, user, clock, AuditActions.Voted, AuditObjects.ArenaVote, vote.Id, $"{nameA} vs {nameB}", Describe(vote));
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<ArenaVote>.Success(vote);
    }

    /// <summary>The record of <paramref name="first"/> against <paramref name="second"/> over every vote between them.</summary>
    public async Task<ArenaPairTally> TallyAsync(Guid first, Guid second, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var votes = await db.ArenaVotes.AsNoTracking()
            .Where(v => (v.ModelAId == first && v.ModelBId == second) || (v.ModelAId == second && v.ModelBId == first))
            .ToListAsync(cancellationToken);
        var names = await db.ModelDeployments.AsNoTracking().Where(d => d.Id == first || d.Id == second)
            .ToDictionaryAsync(d => d.Id, d => d.OllamaModel, cancellationToken);
        return Tally(first, second, votes, names);
    }

    /// <summary>Every pair that has votes, each from the side of the model named first alphabetically, most voted first.</summary>
    public async Task<IReadOnlyList<ArenaPairTally>> TalliesAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var votes = await db.ArenaVotes.AsNoTracking().ToListAsync(cancellationToken);
        var names = new Dictionary<Guid, string>();
        // The newest vote's name for each id (a deployment removed since keeps the name it had).
        foreach (var vote in votes.OrderBy(v => v.CreatedAtUtc))
        {
            names[vote.ModelAId] = vote.ModelAName;
            names[vote.ModelBId] = vote.ModelBName;
        }
        return votes
            .GroupBy(v => v.ModelAId.CompareTo(v.ModelBId) < 0 ? (v.ModelAId, v.ModelBId) : (v.ModelBId, v.ModelAId))
            .Select(g =>
            {
                var (x, y) = string.CompareOrdinal(names[g.Key.Item1], names[g.Key.Item2]) <= 0 ? g.Key : (g.Key.Item2, g.Key.Item1);
                return Tally(x, y, g.ToList(), names);
            })
            .OrderByDescending(t => t.Total).ThenBy(t => t.FirstName, StringComparer.Ordinal).ThenBy(t => t.SecondName, StringComparer.Ordinal)
            .ToList();
    }

    private static ArenaPairTally Tally(Guid first, Guid second, IReadOnlyList<ArenaVote> votes, IReadOnlyDictionary<Guid, string> names)
    {
        int wins = 0, ties = 0, bothBad = 0, losses = 0;
        foreach (var vote in votes)
        {
            var firstIsA = vote.ModelAId == first;
            switch (vote.Verdict)
            {
                case ArenaVerdict.Tie: ties++; break;
                case ArenaVerdict.BothBad: bothBad++; break;
                case ArenaVerdict.A when firstIsA:
                case ArenaVerdict.B when !firstIsA:
                    wins++;
                    break;
                default: losses++; break;
            }
        }
        string NameOf(Guid id, Func<ArenaVote, string?> fromVote) =>
            names.GetValueOrDefault(id) ?? votes.Select(fromVote).FirstOrDefault(n => n is not null) ?? id.ToString();
        return new ArenaPairTally(first, NameOf(first, v => v.ModelAId == first ? v.ModelAName : v.ModelBId == first ? v.ModelBName : null),
            second, NameOf(second, v => v.ModelAId == second ? v.ModelAName : v.ModelBId == second ? v.ModelBName : null),
            wins, ties, bothBad, losses);
    }

    private static string Describe(ArenaVote vote) => vote.Verdict switch
    {
        ArenaVerdict.A => $"{vote.ModelAName} better",
        ArenaVerdict.B => $"{vote.ModelBName} better",
        ArenaVerdict.Tie => "tie",
        _ => "both bad",
    };
}

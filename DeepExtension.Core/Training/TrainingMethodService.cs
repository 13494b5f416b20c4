using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using System.Text.Json.Nodes;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Training;

/// <summary>Lists the training methods and manages user-defined presets; built-in methods are read-only.</summary>
public sealed class TrainingMethodService(IDbContextFactory<DeepExtensionDbContext> dbFactory, TimeProvider clock, ICurrentUser? currentUser = null)
{
    public const string NameField = nameof(TrainingMethodInput.Name);
    public const string DescriptionField = nameof(TrainingMethodInput.Description);

    public async Task<IReadOnlyList<TrainingMethod>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var methods = await db.TrainingMethods.AsNoTracking().ToListAsync(cancellationToken);
        return methods.OrderByDescending(m => m.IsBuiltIn).ThenBy(m => m.IsBuiltIn ? (int)m.Algorithm : 0).ThenBy(m => m.NameKey, StringComparer.Ordinal).ToList();
    }

    public async Task<TrainingMethod?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.TrainingMethods.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
    }

    /// <summary>
    /// Checks parameter values against the algorithm's schema. Errors are keyed by parameter key; unknown
    /// keys are errors too, so a typo never silently falls back to a default.
    /// </summary>
    public static ValidationErrors ValidateValues(TrainingAlgorithm algorithm, JsonObject values)
    {
        var definition = AlgorithmCatalog.Get(algorithm);
        var errors = new ValidationErrors();
        foreach (var (key, value) in values)
        {
            var spec = definition.Find(key);
            if (spec is null)
            {
                errors.Add(key, $"\"{key}\" is not a parameter of {definition.DisplayName}.");
                continue;
            }
            if (spec.Validate(value) is { } problem) errors.Add(key, problem);
        }
        return errors;
    }

    /// <summary>
    /// Warnings for valid values outside the typical ranges, keyed by parameter. With the model's
    /// <paramref name="contextLength"/>, max tokens is judged against what that model can take: a typical range above
    /// its context means nothing for it.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Warnings(TrainingAlgorithm algorithm, JsonObject values, int? contextLength = null)
    {
        var definition = AlgorithmCatalog.Get(algorithm);
        var warnings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            if (definition.Find(key) is not { } spec) continue;
            var warning = key == TrainingParameters.Keys.MaxTokens && contextLength is { } context ? MaxTokensWarning(spec, value, context) : spec.Warn(value);
            if (warning is not null) warnings[key] = warning;
        }
        return warnings;
    }

    /// <summary>Max tokens against a model of <paramref name="context"/> tokens: its typical range, capped at the context.</summary>
    private static string? MaxTokensWarning(ParameterSpec spec, JsonNode? value, int context)
    {
        if (value is null || !ParameterSpec.TryGetNumber(value, out var tokens) || tokens > context) return null; // above the context is an error, not a hint
        var low = Math.Min(spec.TypicalMin ?? 0, context);
        var high = Math.Min(spec.TypicalMax ?? context, context);
        if (tokens < low)
        {
            return low == high
                ? $"{spec.Label} {ParameterSpec.Format(tokens)} is below this model's context of {ParameterSpec.Format(context)} tokens: longer examples are cut at {ParameterSpec.Format(tokens)}."
                : $"{spec.Label} {ParameterSpec.Format(tokens)} is below the typical range {ParameterSpec.Format(low)}–{ParameterSpec.Format(high)} for this model (context {ParameterSpec.Format(context)} tokens).";
        }
        return tokens > high ? $"{spec.Label} {ParameterSpec.Format(tokens)} is above the typical range {ParameterSpec.Format(low)}–{ParameterSpec.Format(high)}." : null;
    }

    private ICurrentUser User => currentUser ?? SystemUser.Instance;

    public async Task<OperationResult<TrainingMethod>> CreatePresetAsync(TrainingMethodInput input, CancellationToken cancellationToken = default)
    {
        if (User.DenyChange() is { } denied) return OperationResult<TrainingMethod>.Failure(OperationResult<TrainingMethod>.General, denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var errors = await ValidateAsync(db, input, null, cancellationToken);
        if (errors.Any) return OperationResult<TrainingMethod>.Failure(errors);

        var now = clock.GetUtcNow().UtcDateTime;
        var method = new TrainingMethod
        {
            Id = Guid.CreateVersion7(),
            Name = input.Name.Trim(),
            NameKey = TrainingMethod.KeyOf(input.Name),
            Algorithm = input.Algorithm,
            Description = input.Description?.Trim() ?? "",
            IsBuiltIn = false,
            DefaultsJson = OnlyOverrides(input.Algorithm, input.Defaults).ToJsonString(),
            CreatedAtUtc = now,
            CreatedBy = User.Name,
            UpdatedAtUtc = now,
        };
        db.TrainingMethods.Add(method);
        AuditTrail.Add(db, User, clock, AuditActions.Created, AuditObjects.TrainingMethod, method.Id, method.Name, method.Algorithm.ToString());
        return await SaveAsync(db, method, cancellationToken);
    }

    public async Task<OperationResult<TrainingMethod>> UpdatePresetAsync(Guid id, TrainingMethodInput input, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var method = await db.TrainingMethods.FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (method is null) return OperationResult<TrainingMethod>.Failure(OperationResult<TrainingMethod>.General, "This method no longer exists.");
        if (User.DenyAlter(method.CreatedBy, "edit it") is { } denied) return OperationResult<TrainingMethod>.Failure(OperationResult<TrainingMethod>.General, denied);
        if (method.IsBuiltIn)
        {
            return OperationResult<TrainingMethod>.Failure(OperationResult<TrainingMethod>.General,
                "Built-in methods cannot be changed. Copy it into a new method with your own defaults.");
        }
        var errors = await ValidateAsync(db, input, id, cancellationToken);
        if (errors.Any) return OperationResult<TrainingMethod>.Failure(errors);

        method.Name = input.Name.Trim();
        method.NameKey = TrainingMethod.KeyOf(input.Name);
        method.Algorithm = input.Algorithm;
        method.Description = input.Description?.Trim() ?? "";
        method.DefaultsJson = OnlyOverrides(input.Algorithm, input.Defaults).ToJsonString();
        method.UpdatedAtUtc = clock.GetUtcNow().UtcDateTime;
        AuditTrail.Add(db, User, clock, AuditActions.Changed, AuditObjects.TrainingMethod, method.Id, method.Name, method.Algorithm.ToString());
        return await SaveAsync(db, method, cancellationToken);
    }

    public async Task<OperationResult<bool>> DeletePresetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var method = await db.TrainingMethods.FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (method is null) return OperationResult<bool>.Success(false);
        if (User.DenyAlter(method.CreatedBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (method.IsBuiltIn)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "Built-in methods cannot be deleted.");
        }
        var trains = await db.TrainingRuns.CountAsync(r => r.MethodId == id, cancellationToken);
        if (trains > 0)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General, $"{method.Name} is used by {trains} train(s) and cannot be deleted.");
        }
        db.TrainingMethods.Remove(method);
        AuditTrail.Add(db, User, clock, AuditActions.Deleted, AuditObjects.TrainingMethod, method.Id, method.Name);
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<bool>.Success(true);
    }

    /// <summary>Keeps the values that differ from the algorithm's defaults: a preset records its intent, not a copy.</summary>
    private static JsonObject OnlyOverrides(TrainingAlgorithm algorithm, JsonObject values)
    {
        var definition = AlgorithmCatalog.Get(algorithm);
        var overrides = new JsonObject();
        foreach (var (key, value) in values)
        {
            var spec = definition.Find(key);
            if (spec is not null && !JsonNode.DeepEquals(spec.Default, value)) overrides[key] = value?.DeepClone();
        }
        return overrides;
    }

    private static async Task<ValidationErrors> ValidateAsync(DeepExtensionDbContext db, TrainingMethodInput input, Guid? existingId, CancellationToken cancellationToken)
    {
        var errors = ValidateValues(input.Algorithm, input.Defaults);
        var name = input.Name?.Trim() ?? "";
        if (name.Length == 0)
        {
            errors.Add(NameField, "The method name is required.");
        }
        else if (name.Length > 100)
        {
            errors.Add(NameField, "The method name must be at most 100 characters.");
        }
        else
        {
            var key = TrainingMethod.KeyOf(name);
            if (await db.TrainingMethods.AnyAsync(m => m.NameKey == key && m.Id != existingId, cancellationToken))
            {
                errors.Add(NameField, $"A method named \"{name}\" already exists.");
            }
        }
        if (input.Description is { Length: > 2000 }) errors.Add(DescriptionField, "The description must be at most 2000 characters.");
        return errors;
    }

    private static async Task<OperationResult<TrainingMethod>> SaveAsync(DeepExtensionDbContext db, TrainingMethod method, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return OperationResult<TrainingMethod>.Success(method);
        }
        catch (DbUpdateException ex) when (!DatabaseErrors.IsDuplicate(ex))
        {
            return OperationResult<TrainingMethod>.Failure(OperationResult<TrainingMethod>.General, DatabaseErrors.Refused(ex));
        }
        catch (DbUpdateException)
        {
            return OperationResult<TrainingMethod>.Failure(OperationResult<TrainingMethod>.General,
                "Another method with the same name was saved at the same time. Nothing was saved; try again.");
        }
    }
}

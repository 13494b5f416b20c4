namespace DeepExtension.Core.Common;

/// <summary>
/// The outcome of a user action: either a value, or messages keyed by the form field they belong to
/// (<see cref="General"/> for ones that belong to no single field).
/// </summary>
public sealed class OperationResult<T>
{
    public const string General = "";

    private OperationResult(T? value, IReadOnlyDictionary<string, string[]> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }
    public IReadOnlyDictionary<string, string[]> Errors { get; }
    public bool Succeeded => Errors.Count == 0;

    public static OperationResult<T> Success(T value) => new(value, new Dictionary<string, string[]>());

    public static OperationResult<T> Failure(ValidationErrors errors) => new(default, errors.ToDictionary());

    public static OperationResult<T> Failure(string field, string message) =>
        Failure(new ValidationErrors().Add(field, message));

    public IEnumerable<string> ErrorsFor(string field) =>
        Errors.TryGetValue(field, out var messages) ? messages : [];

    public string AllErrors => string.Join(" ", Errors.Values.SelectMany(m => m));
}

/// <summary>Collects validation messages per field.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public bool Has(string field) => _errors.ContainsKey(field);

    public ValidationErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }
        list.Add(message);
        return this;
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary() =>
        _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}

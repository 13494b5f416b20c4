namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>
/// Variables visible at a point of the template. Each for-loop iteration and each macro call gets a child
/// scope, so (as in Jinja) a <c>set</c> inside a loop does not leak out of it; that is what namespace() is for.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Scope? _parent = parent;
    private readonly Dictionary<string, object?> _variables = [];

    public object? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope._parent)
            if (scope._variables.TryGetValue(name, out var value)) return value;
        return Undefined.Variable(name);
    }

    public void Assign(string name, object? value) => _variables[name] = value;
}

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>A field of a struct, tuple or enum variant, with its offset in the archived layout.</summary>
internal sealed class RkyvField
{
    internal RkyvField(string name, RkyvType type, int offset)
    {
        Name = name;
        Type = type;
        Offset = offset;
    }

    /// <summary>The field name: the Rust field name, or <c>"0"</c>, <c>"1"</c>, … for positional fields.</summary>
    public string Name { get; }

    /// <summary>The field type.</summary>
    public RkyvType Type { get; }

    /// <summary>
    /// Byte offset of the field from the start of the archived struct, tuple, or enum (for variant fields the
    /// offset counts the one-byte tag).
    /// </summary>
    public int Offset { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Type} @{Offset}";
}

using System;

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// An enum value in the dynamic value model of <see cref="RkyvSerializer"/>: the variant name and its payload.
/// </summary>
/// <remarks>
/// The payload mirrors serde's externally tagged shape: <see langword="null"/> for a unit variant, the field value for
/// a tuple variant with one field, an <c>IReadOnlyList&lt;object?&gt;</c> for a tuple variant with several fields, and an
/// <c>IReadOnlyDictionary&lt;string, object?&gt;</c> for a struct variant.
/// </remarks>
internal sealed class RkyvEnumValue
{
    /// <summary>Creates an enum value.</summary>
    /// <param name="variant">The variant name.</param>
    /// <param name="payload">The payload (see the remarks on <see cref="RkyvEnumValue"/>).</param>
    public RkyvEnumValue(string variant, object? payload = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(variant);
        Variant = variant;
        Payload = payload;
    }

    /// <summary>The variant name.</summary>
    public string Variant { get; }

    /// <summary>The payload, or <see langword="null"/> for a unit variant.</summary>
    public object? Payload { get; }

    /// <inheritdoc />
    public override string ToString() => Payload is null ? Variant : $"{Variant}({Payload})";
}

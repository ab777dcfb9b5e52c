using System;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync;

/// <summary>
/// The engine's default content check: accepts exactly the bytes rkyv 0.8 (with bytecheck) accepts as an archived
/// StemeDB <c>Assertion</c>. Thread-safe, never throws, allocates nothing when the bytes are valid.
/// </summary>
public sealed class RkyvAssertionValidator : IAssertionContentValidator
{
    /// <summary>A shared instance (the validator is stateless).</summary>
    public static RkyvAssertionValidator Instance { get; } = new();

    private RkyvAssertionValidator()
    {
    }

    /// <inheritdoc />
    public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
    {
        if (AssertionValidator.TryValidate(data, out _, out RkyvError e))
        {
            error = null;
            return true;
        }

        error = "Invalid rkyv Assertion archive: " + e.ToString() + ".";
        return false;
    }
}

using System;

namespace StemeDb.Sync.Testing;

/// <summary>A content validator that accepts any bytes, for tests that replicate arbitrary payloads.</summary>
public sealed class AcceptAllContentValidator : IAssertionContentValidator
{
    /// <summary>The shared instance.</summary>
    public static AcceptAllContentValidator Instance { get; } = new();

    /// <inheritdoc />
    public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
    {
        error = null;
        return true;
    }
}

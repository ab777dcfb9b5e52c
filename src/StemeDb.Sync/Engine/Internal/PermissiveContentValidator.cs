using System;
using StemeDb.Sync.Validation;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>Accepts any bytes. The interim default until the rkyv Assertion validator is the default.</summary>
internal sealed class PermissiveContentValidator : IAssertionContentValidator
{
    public static readonly PermissiveContentValidator Instance = new();

    public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
    {
        error = null;
        return true;
    }
}

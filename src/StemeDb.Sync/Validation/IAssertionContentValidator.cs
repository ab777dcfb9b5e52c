using System;

namespace StemeDb.Sync;

/// <summary>
/// Checks the content of an assertion's serialized bytes before the engine stores it. The default is the
/// rkyv <c>Assertion</c> validator; hosts with their own record schema plug in their own.
/// </summary>
/// <remarks>Implementations must be thread-safe, must not throw for any input, and must not allocate sized by untrusted lengths.</remarks>
public interface IAssertionContentValidator
{
    /// <summary>Validates <paramref name="data"/>.</summary>
    /// <param name="data">The untrusted serialized bytes.</param>
    /// <param name="error">Why the bytes were rejected, when they were.</param>
    /// <returns><see langword="true"/> if the content is acceptable.</returns>
    bool TryValidate(ReadOnlySpan<byte> data, out string? error);
}

using System;
using System.Globalization;

namespace StemeDb.Sync;

/// <summary>
/// The outcome of a failed validation: the error class and the buffer offset where it was found. Reporting it
/// allocates nothing; <see cref="ToString"/> formats a message on demand.
/// </summary>
public readonly struct RkyvError
{
    /// <summary>Creates an error description.</summary>
    /// <param name="kind">The error class.</param>
    /// <param name="position">The offset from the start of the buffer (may be negative or past the end for a bad pointer).</param>
    /// <param name="length">The size of the offending object or claim in bytes (see <see cref="Length"/>), when meaningful.</param>
    public RkyvError(RkyvErrorKind kind, long position, long length = 0)
    {
        Kind = kind;
        Position = position;
        Length = length;
    }

    /// <summary>The error class; <see cref="RkyvErrorKind.None"/> for success.</summary>
    public RkyvErrorKind Kind { get; }

    /// <summary>The offset from the start of the buffer where the problem was found.</summary>
    public long Position { get; }

    /// <summary>
    /// The size in bytes of the offending object or claimed range (for <see cref="RkyvErrorKind.Unaligned"/>: the
    /// required alignment; for <see cref="RkyvErrorKind.StringRepr"/>: the declared length), or 0.
    /// </summary>
    public long Length { get; }

    /// <summary>Whether this describes an error (as opposed to the default, "no error").</summary>
    public bool IsError => Kind != RkyvErrorKind.None;

    /// <summary>Returns a human-readable description.</summary>
    /// <returns>The message.</returns>
    public override string ToString()
    {
        string at = Position.ToString(CultureInfo.InvariantCulture);
        string len = Length.ToString(CultureInfo.InvariantCulture);
        return Kind switch
        {
            RkyvErrorKind.None => "no error",
            RkyvErrorKind.SubtreeRange => $"object of {len} bytes at offset {at} is outside the range it may occupy (out of bounds, overlapping or out of order)",
            RkyvErrorKind.Unaligned => $"object at offset {at} is not aligned to {len} bytes",
            RkyvErrorKind.Utf8 => $"string of {len} bytes at offset {at} is not valid UTF-8",
            RkyvErrorKind.EnumTag => $"invalid enum tag at offset {at}",
            RkyvErrorKind.Bool => $"bool at offset {at} is neither 0 nor 1",
            RkyvErrorKind.Char => $"char at offset {at} is not a Unicode scalar value",
            RkyvErrorKind.StringRepr => $"string at offset {at} is out-of-line but its length {len} would fit inline",
            _ => $"{Kind} at offset {at}",
        };
    }
}

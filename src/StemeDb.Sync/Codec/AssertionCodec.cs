using System;
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync;

/// <summary>
/// The codec for StemeDB's <c>Assertion</c>: encodes, validates and decodes its rkyv archive (the archived Rust struct,
/// 160 bytes, align 8) byte for byte as the Rust crate does. Validation and <see cref="ArchivedAssertion"/> field
/// access allocate nothing.
/// </summary>
public static class AssertionCodec
{
    /// <summary>Returns the length of the archive <see cref="Encode(Assertion, IBufferWriter{byte})"/> would write.</summary>
    /// <param name="assertion">The assertion.</param>
    /// <returns>The archive length in bytes.</returns>
    public static int GetEncodedLength(Assertion assertion)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        return AssertionWriter.GetLength(assertion);
    }

    /// <summary>
    /// Serializes <paramref name="assertion"/> and appends the archive to <paramref name="output"/> with a single
    /// <c>GetSpan</c>/<c>Advance</c> (the span requested is an upper bound: 3 bytes per UTF-16 unit of text, plus the
    /// fixed parts; only the bytes used are committed). Relative pointers do not depend on where the archive lands, but readers require
    /// it to start at an 8-byte aligned offset of their buffer.
    /// </summary>
    /// <param name="assertion">The assertion.</param>
    /// <param name="output">Where to append the archive.</param>
    /// <returns>The number of bytes appended.</returns>
    /// <exception cref="ArgumentException">A string holds a lone surrogate or is longer than rkyv allows.</exception>
    public static int Encode(Assertion assertion, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        ArgumentNullException.ThrowIfNull(output);
        return AssertionWriter.Write(assertion, output);
    }

    /// <summary>Serializes <paramref name="assertion"/> into a new array.</summary>
    /// <param name="assertion">The assertion.</param>
    /// <returns>The archive bytes.</returns>
    /// <exception cref="ArgumentException">A string holds a lone surrogate or is longer than rkyv allows.</exception>
    public static byte[] Encode(Assertion assertion)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        using var scratch = new PooledBufferWriter(1024);
        AssertionWriter.Write(assertion, scratch);
        return scratch.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Validates untrusted bytes as an archived assertion, exactly as rkyv's <c>access</c> with bytecheck would.
    /// Never throws for bad input; allocates nothing.
    /// </summary>
    /// <param name="data">The untrusted bytes.</param>
    /// <param name="error">Why the bytes were rejected, when they were.</param>
    /// <returns><see langword="true"/> if the bytes are a valid archived assertion.</returns>
    public static bool TryValidate(ReadOnlySpan<byte> data, out RkyvError error) =>
        AssertionValidator.TryValidate(data, out _, out error);

    /// <summary>Validates untrusted bytes as an archived assertion.</summary>
    /// <param name="data">The untrusted bytes.</param>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archived assertion.</exception>
    public static void Validate(ReadOnlySpan<byte> data)
    {
        if (!AssertionValidator.TryValidate(data, out _, out RkyvError error))
        {
            throw new RkyvFormatException(error);
        }
    }

    /// <summary>Validates and fully decodes an archived assertion.</summary>
    /// <param name="data">The untrusted bytes.</param>
    /// <returns>The assertion.</returns>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archived assertion.</exception>
    public static Assertion Decode(ReadOnlySpan<byte> data) => ArchivedAssertion.Access(data).ToAssertion();

    /// <summary>Validates and fully decodes an archived assertion without throwing for bad input.</summary>
    /// <param name="data">The untrusted bytes.</param>
    /// <param name="assertion">The assertion, when valid.</param>
    /// <param name="error">Why the bytes were rejected, when they were.</param>
    /// <returns><see langword="true"/> if the bytes are a valid archived assertion.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> data, [NotNullWhen(true)] out Assertion? assertion, out RkyvError error)
    {
        if (ArchivedAssertion.TryAccess(data, out ArchivedAssertion archived, out error))
        {
            assertion = archived.ToAssertion();
            return true;
        }

        assertion = null;
        return false;
    }
}

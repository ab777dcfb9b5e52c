using System;
using System.Buffers;
using StemeDb.Sync.Cli.Rkyv.Internal;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// Reads and writes rkyv 0.8 archives (little-endian, aligned, 32-bit relative pointers) of any type described by an
/// <see cref="RkyvType"/>, using a dynamic value model. For the library's own <c>Assertion</c> use the faster
/// <c>AssertionCodec</c>.
/// </summary>
/// <remarks>
/// <para>Dynamic values (what <see cref="Deserialize"/> returns and <see cref="Serialize(RkyvType, object?)"/> accepts):</para>
/// <list type="table">
/// <item><term><c>u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool</c></term><description><see cref="byte"/>, <see cref="sbyte"/>, <see cref="ushort"/>, <see cref="short"/>, <see cref="uint"/>, <see cref="int"/>, <see cref="ulong"/>, <see cref="long"/>, <see cref="float"/>, <see cref="double"/>, <see cref="bool"/> (exactly these CLR types)</description></item>
/// <item><term><c>char</c></term><description><see cref="System.Text.Rune"/></description></item>
/// <item><term><c>String</c></term><description><see cref="string"/> (a lone surrogate is rejected)</description></item>
/// <item><term><c>Vec&lt;u8&gt;</c>, <c>[u8; N]</c></term><description><see cref="T:byte[]"/> (writing also accepts <see cref="ReadOnlyMemory{T}"/>)</description></item>
/// <item><term><c>Vec&lt;T&gt;</c>, <c>[T; N]</c>, tuples</term><description><c>IReadOnlyList&lt;object?&gt;</c> (reading returns <c>object?[]</c>)</description></item>
/// <item><term><c>Option&lt;T&gt;</c></term><description><see langword="null"/> for <c>None</c>, else the value of <c>T</c></description></item>
/// <item><term><c>Box&lt;T&gt;</c></term><description>the value of <c>T</c></description></item>
/// <item><term>structs</term><description><c>IReadOnlyDictionary&lt;string, object?&gt;</c> with every field by name</description></item>
/// <item><term>enums</term><description><see cref="RkyvEnumValue"/></description></item>
/// </list>
/// </remarks>
internal static class RkyvSerializer
{
    /// <summary>
    /// Serializes <paramref name="value"/> and appends the archive to <paramref name="output"/>. The archive starts at
    /// the writer's current position; for readers to accept it, it must end up at an 8-byte aligned address (16 is
    /// what rkyv uses).
    /// </summary>
    /// <param name="type">The schema of the value.</param>
    /// <param name="value">The value in the dynamic value model.</param>
    /// <param name="output">Where to append the archive. Nothing is appended if the value does not fit the schema.</param>
    /// <returns>The number of bytes appended.</returns>
    /// <exception cref="ArgumentException">The value does not match the schema.</exception>
    public static int Serialize(RkyvType type, object? value, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(output);
        using var scratch = new PooledBufferWriter();
        SchemaWriter.Write(type, value, scratch);
        ReadOnlySpan<byte> bytes = scratch.WrittenSpan;
        output.Write(bytes);
        return bytes.Length;
    }

    /// <summary>Serializes <paramref name="value"/> into a new array.</summary>
    /// <param name="type">The schema of the value.</param>
    /// <param name="value">The value in the dynamic value model.</param>
    /// <returns>The archive bytes.</returns>
    /// <exception cref="ArgumentException">The value does not match the schema.</exception>
    public static byte[] Serialize(RkyvType type, object? value)
    {
        ArgumentNullException.ThrowIfNull(type);
        using var scratch = new PooledBufferWriter();
        SchemaWriter.Write(type, value, scratch);
        return scratch.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Validates untrusted bytes as an archive of <paramref name="type"/>, exactly as rkyv's <c>access</c> with
    /// bytecheck would (offsets are judged relative to the start of <paramref name="archive"/>). Never throws for bad
    /// input and allocates nothing.
    /// </summary>
    /// <param name="type">The schema.</param>
    /// <param name="archive">The untrusted bytes.</param>
    /// <param name="error">Why the bytes were rejected, when they were.</param>
    /// <returns><see langword="true"/> if the bytes are a valid archive.</returns>
    public static bool TryValidate(RkyvType type, ReadOnlySpan<byte> archive, out RkyvError error)
    {
        ArgumentNullException.ThrowIfNull(type);
        return SchemaValidator.TryValidate(type, archive, out _, out error);
    }

    /// <summary>Validates untrusted bytes as an archive of <paramref name="type"/>.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="archive">The untrusted bytes.</param>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archive.</exception>
    public static void Validate(RkyvType type, ReadOnlySpan<byte> archive)
    {
        if (!TryValidate(type, archive, out RkyvError error))
        {
            throw new RkyvFormatException(error);
        }
    }

    /// <summary>Validates and fully decodes an archive into the dynamic value model.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="archive">The untrusted bytes.</param>
    /// <returns>The decoded value.</returns>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archive.</exception>
    public static object? Deserialize(RkyvType type, ReadOnlySpan<byte> archive)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!SchemaValidator.TryValidate(type, archive, out int root, out RkyvError error))
        {
            throw new RkyvFormatException(error);
        }

        return SchemaReader.Read(type, archive, root);
    }
}

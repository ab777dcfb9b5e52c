using System;
using System.Buffers.Binary;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using StemeDb.Sync.Internal;

namespace StemeDb.Sync;

/// <summary>
/// A 16-byte node identifier: a UUID whose bytes are in RFC 9562 network byte order.
/// </summary>
/// <remarks>
/// <para>
/// The bytes are exactly those that travel in <c>hlc_node_id</c> and <c>node_id</c> fields and in the
/// rkyv <c>[u8; 16]</c> of a timestamp. Note that <see cref="Guid.ToByteArray()"/> is mixed-endian; use
/// <see cref="FromGuid"/> and <see cref="ToGuid"/>, which convert to and from network order.
/// </para>
/// <para>Ordering is unsigned lexicographic over the 16 bytes.</para>
/// <para>
/// A <see cref="TypeConverter"/> reads and writes the text forms of <see cref="Parse"/> and <see cref="ToString"/>, so a
/// node id binds from configuration (for example <see cref="SyncNodeOptions.NodeId"/>).
/// </para>
/// </remarks>
[TypeConverter(typeof(NodeIdConverter))]
public readonly struct NodeId : IEquatable<NodeId>, IComparable<NodeId>
{
    /// <summary>The length of a node id in bytes (16).</summary>
    public const int Length = 16;

    private readonly ulong _hi;
    private readonly ulong _lo;

    /// <summary>Creates a node id from exactly 16 bytes in network order.</summary>
    /// <param name="bytes">The id bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 16 bytes long.</exception>
    public NodeId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            ThrowHelper.ThrowWrongLength(nameof(bytes), Length, bytes.Length);
        }

        _hi = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _lo = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
    }

    private NodeId(ulong hi, ulong lo)
    {
        _hi = hi;
        _lo = lo;
    }

    /// <summary>The all-zero id (the default value).</summary>
    public static NodeId Empty => default;

    /// <summary>Creates a new random (version 4) node id from a cryptographic random source.</summary>
    /// <returns>A fresh id.</returns>
    public static NodeId NewId()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40); // version 4
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new NodeId(bytes);
    }

    /// <summary>Converts a <see cref="Guid"/> to a node id with the same UUID value.</summary>
    /// <param name="guid">The UUID.</param>
    /// <returns>The node id whose bytes are the UUID in network byte order.</returns>
    internal static NodeId FromGuid(Guid guid)
    {
        Span<byte> bytes = stackalloc byte[Length];
        guid.TryWriteBytes(bytes, bigEndian: true, out _);
        return new NodeId(bytes);
    }

    /// <summary>Returns the <see cref="Guid"/> with the same UUID value.</summary>
    /// <returns>The UUID.</returns>
    public Guid ToGuid()
    {
        Span<byte> bytes = stackalloc byte[Length];
        CopyTo(bytes);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>Creates a node id from a span, reporting a wrong length instead of throwing.</summary>
    /// <param name="bytes">Candidate id bytes.</param>
    /// <param name="id">The id when the length was right.</param>
    /// <returns><see langword="true"/> if <paramref name="bytes"/> was exactly 16 bytes.</returns>
    public static bool TryCreate(ReadOnlySpan<byte> bytes, out NodeId id)
    {
        if (bytes.Length != Length)
        {
            id = default;
            return false;
        }

        id = new NodeId(bytes);
        return true;
    }

    /// <summary>Parses 32 hex digits, or the hyphenated UUID form (8-4-4-4-12).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The id.</returns>
    /// <exception cref="FormatException">The text is neither form.</exception>
    public static NodeId Parse(ReadOnlySpan<char> text)
    {
        if (!TryParse(text, out NodeId id))
        {
            ThrowHelper.ThrowFormat($"A node id is {Length * 2} hex digits or a hyphenated UUID; got '{text.ToString()}'.");
        }

        return id;
    }

    /// <summary>Parses 32 hex digits, or the hyphenated UUID form, reporting failure instead of throwing.</summary>
    /// <param name="text">The text.</param>
    /// <param name="id">The parsed id.</param>
    /// <returns><see langword="true"/> on success.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out NodeId id)
    {
        Span<byte> bytes = stackalloc byte[Length];
        if (Hex.TryDecode(text, bytes))
        {
            id = new NodeId(bytes);
            return true;
        }

        if (text.Length == 36 && Guid.TryParseExact(text, "D", out Guid guid))
        {
            id = FromGuid(guid);
            return true;
        }

        id = default;
        return false;
    }

    /// <summary>Writes the 16 bytes (network order) into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least 16 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 16 bytes.</exception>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"The destination must hold at least {Length} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _lo);
    }

    /// <summary>Returns the 16 bytes as a new array.</summary>
    /// <returns>A new 16-byte array.</returns>
    public byte[] ToArray()
    {
        byte[] bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Returns the id as 32 lowercase hex digits (the bytes in network order).</summary>
    /// <returns>The hex text.</returns>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        CopyTo(bytes);
        return Hex.Encode(bytes);
    }

    /// <inheritdoc />
    public bool Equals(NodeId other) => _hi == other._hi && _lo == other._lo;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is NodeId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_hi, _lo);

    /// <inheritdoc />
    public int CompareTo(NodeId other)
    {
        int c = _hi.CompareTo(other._hi);
        return c != 0 ? c : _lo.CompareTo(other._lo);
    }

    /// <summary>Bytewise equality.</summary>
    public static bool operator ==(NodeId left, NodeId right) => left.Equals(right);

    /// <summary>Bytewise inequality.</summary>
    public static bool operator !=(NodeId left, NodeId right) => !left.Equals(right);

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator <(NodeId left, NodeId right) => left.CompareTo(right) < 0;

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator >(NodeId left, NodeId right) => left.CompareTo(right) > 0;

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator <=(NodeId left, NodeId right) => left.CompareTo(right) <= 0;

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator >=(NodeId left, NodeId right) => left.CompareTo(right) >= 0;
}

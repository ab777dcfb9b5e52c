using System;
using System.Buffers.Binary;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// The assertion stream format, version 1 (docs/STREAM-FORMAT.md): a 12-byte header (magic, version, flags), then
/// records (tag <c>R</c>, hash, HLC time, counter and node id, data length, data), then an end marker (tag <c>E</c>,
/// record count). Integers are little-endian.
/// </summary>
internal static class AssertionStreamFormat
{
    /// <summary>The version this library writes and the only one it reads.</summary>
    public const ushort Version = 1;

    /// <summary>Magic (8), version (2), flags (2).</summary>
    public const int HeaderLength = 12;

    /// <summary>Tag (1), hash (32), HLC time (8), counter (4), node id (16), data length (4); the data follows.</summary>
    public const int RecordFixedLength = 1 + AssertionHash.Length + 8 + 4 + NodeId.Length + 4;

    /// <summary>Tag (1), record count (8).</summary>
    public const int EndLength = 1 + 8;

    /// <summary>The tag of a record (<c>R</c>).</summary>
    public const byte RecordTag = 0x52;

    /// <summary>The tag of the end marker (<c>E</c>).</summary>
    public const byte EndTag = 0x45;

    /// <summary>The magic: 0x89, "STM", CR LF, 0x1A, LF (a text-mode transfer or a truncation to 7 bits breaks it).</summary>
    public static ReadOnlySpan<byte> Magic => [0x89, 0x53, 0x54, 0x4D, 0x0D, 0x0A, 0x1A, 0x0A];

    public static void WriteHeader(Span<byte> destination)
    {
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], 0);
    }

    /// <summary>Writes a record's fixed part (everything before the data).</summary>
    public static void WriteRecordPrefix(Span<byte> destination, AssertionRecord record)
    {
        destination[0] = RecordTag;
        record.Hash.CopyTo(destination.Slice(1, AssertionHash.Length));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[33..], record.Timestamp.Time);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[41..], record.Timestamp.Counter);
        record.Timestamp.NodeId.CopyTo(destination.Slice(45, NodeId.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[61..], (uint)record.Data.Length);
    }

    public static void WriteEnd(Span<byte> destination, long count)
    {
        destination[0] = EndTag;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[1..], (ulong)count);
    }

    /// <summary>The reason a header is not one this library reads, or <see langword="null"/>.</summary>
    public static string? CheckHeader(ReadOnlySpan<byte> header)
    {
        if (!header[..8].SequenceEqual(Magic))
        {
            return "the stream does not start with the assertion stream magic (89 53 54 4D 0D 0A 1A 0A)";
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (version != Version)
        {
            return $"the stream is format version {version}; this library reads version {Version}";
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        return flags == 0 ? null : $"the header flags are 0x{flags:x4}; version {Version} defines none";
    }

    /// <summary>Reads a record's fixed part: hash, timestamp and the declared data length.</summary>
    public static (AssertionHash Hash, HlcTimestamp Timestamp, uint Length) ReadRecordPrefix(ReadOnlySpan<byte> prefix) => (
        new AssertionHash(prefix.Slice(1, AssertionHash.Length)),
        new HlcTimestamp(
            BinaryPrimitives.ReadUInt64LittleEndian(prefix[33..]),
            BinaryPrimitives.ReadUInt32LittleEndian(prefix[41..]),
            new NodeId(prefix.Slice(45, NodeId.Length))),
        BinaryPrimitives.ReadUInt32LittleEndian(prefix[61..]));
}

using System;

namespace StemeDb.Sync;

/// <summary>
/// One assertion as stored and replicated: its hash, its serialized (rkyv) bytes and the hybrid logical
/// clock timestamp it was stamped with.
/// </summary>
/// <remarks>
/// A record does not check itself: <see cref="Hash"/> is what the holder claims. The engine verifies
/// <c>BLAKE3(Data) == Hash</c> before anything received from a peer is stored.
/// </remarks>
public sealed class AssertionRecord
{
    /// <summary>Creates a record.</summary>
    /// <param name="hash">BLAKE3 hash of <paramref name="data"/>.</param>
    /// <param name="data">Serialized assertion bytes.</param>
    /// <param name="timestamp">HLC timestamp of the assertion.</param>
    public AssertionRecord(AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp timestamp)
    {
        Hash = hash;
        Data = data;
        Timestamp = timestamp;
    }

    /// <summary>The BLAKE3 hash naming <see cref="Data"/>.</summary>
    public AssertionHash Hash { get; }

    /// <summary>The serialized assertion bytes (rkyv archive).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The HLC timestamp the assertion travels with.</summary>
    public HlcTimestamp Timestamp { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Hash} ({Data.Length} bytes, {Timestamp})";
}

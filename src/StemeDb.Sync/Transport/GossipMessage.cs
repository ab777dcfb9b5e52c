using System;

namespace StemeDb.Sync;

/// <summary>
/// A gossip push exactly as it arrived from a transport: raw, unverified fields. The request handler
/// checks every length and the hash before anything is stored.
/// </summary>
/// <param name="hash">Claimed BLAKE3 hash (must be 32 bytes).</param>
/// <param name="data">Serialized assertion bytes.</param>
/// <param name="hlcTime">HLC physical time, milliseconds since the Unix epoch.</param>
/// <param name="hlcCounter">HLC logical counter.</param>
/// <param name="hlcNodeId">HLC node id: 16 bytes, or empty when the push carries no timestamp.</param>
public readonly struct GossipMessage(
    ReadOnlyMemory<byte> hash,
    ReadOnlyMemory<byte> data,
    ulong hlcTime,
    uint hlcCounter,
    ReadOnlyMemory<byte> hlcNodeId)
{
    /// <summary>Claimed BLAKE3 hash (must be 32 bytes).</summary>
    public ReadOnlyMemory<byte> Hash { get; } = hash;

    /// <summary>Serialized assertion bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; } = data;

    /// <summary>HLC physical time, milliseconds since the Unix epoch.</summary>
    public ulong HlcTime { get; } = hlcTime;

    /// <summary>HLC logical counter.</summary>
    public uint HlcCounter { get; } = hlcCounter;

    /// <summary>
    /// HLC node id: 16 bytes, or empty when the push carries no timestamp (the receiving node then stamps the record
    /// itself and ignores <see cref="HlcTime"/> and <see cref="HlcCounter"/>).
    /// </summary>
    public ReadOnlyMemory<byte> HlcNodeId { get; } = hlcNodeId;
}

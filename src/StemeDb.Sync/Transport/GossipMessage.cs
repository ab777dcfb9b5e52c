using System;

namespace StemeDb.Sync;

/// <summary>
/// A gossip push exactly as it arrived from a transport: raw, unverified fields. The request handler
/// checks every length and the hash before anything is stored.
/// </summary>
/// <param name="Hash">Claimed BLAKE3 hash (must be 32 bytes).</param>
/// <param name="Data">Serialized assertion bytes.</param>
/// <param name="HlcTime">HLC physical time, milliseconds since the Unix epoch.</param>
/// <param name="HlcCounter">HLC logical counter.</param>
/// <param name="HlcNodeId">HLC node id: 16 bytes, or empty when the push carries no timestamp (the receiving node then
/// stamps the record itself and ignores <paramref name="HlcTime"/> and <paramref name="HlcCounter"/>).</param>
public readonly record struct GossipMessage(
    ReadOnlyMemory<byte> Hash,
    ReadOnlyMemory<byte> Data,
    ulong HlcTime,
    uint HlcCounter,
    ReadOnlyMemory<byte> HlcNodeId);

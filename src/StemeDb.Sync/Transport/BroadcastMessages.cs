using System;
using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>
/// One message of the <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast"): raw fields, exactly as on the wire.
/// It pushes payloads on an eager link, announces hashes on a lazy one, grafts (asks for payloads and makes the link
/// eager) or prunes (makes the link lazy). The responder checks every length and limit.
/// </summary>
/// <param name="SenderNodeId">The sender's node id (16 bytes), so that the responder knows which of its links the message came on.</param>
/// <param name="Assertions">Payloads pushed (at most <see cref="SyncProtocol.MaxGossipBatch"/>).</param>
/// <param name="Announced">Hashes the sender holds and announces (at most <see cref="BroadcastLimits.MaxHashes"/>, 32 bytes each).</param>
/// <param name="Graft">Hashes the sender asks for (at most <see cref="BroadcastLimits.MaxHashes"/>): the responder answers them and makes the link eager.</param>
/// <param name="Prune">The sender made the link lazy: the responder stops pushing payloads on it.</param>
internal sealed record BroadcastRequest(
    ReadOnlyMemory<byte> SenderNodeId,
    IReadOnlyList<GossipMessage> Assertions,
    IReadOnlyList<ReadOnlyMemory<byte>> Announced,
    IReadOnlyList<ReadOnlyMemory<byte>> Graft,
    bool Prune);

/// <summary>The answer to a <see cref="BroadcastRequest"/>: raw fields, exactly as on the wire.</summary>
/// <param name="NodeId">The responder's node id (16 bytes).</param>
/// <param name="Results">One result per pushed payload, in order.</param>
/// <param name="Grafted">The payloads asked for by <see cref="BroadcastRequest.Graft"/> that the responder holds, within its answer budget (unverified).</param>
/// <param name="Prune">The responder already held a pushed payload: it made the link lazy and the sender does the same.</param>
internal sealed record BroadcastResponse(
    ReadOnlyMemory<byte> NodeId,
    IReadOnlyList<GossipResult> Results,
    IReadOnlyList<AssertionRecord> Grafted,
    bool Prune);

/// <summary>The limits and timings of the <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast").</summary>
internal static class BroadcastLimits
{
    /// <summary>The most hashes one message announces, and the most it grafts.</summary>
    public const int MaxHashes = 1000;

    /// <summary>How many lazy links each batch of new assertions is announced on.</summary>
    public const int LazyFanout = 6;

    /// <summary>
    /// How long an announced hash may stay missing before the node grafts it from an announcer: this, plus a random share
    /// of it again, so that the nodes of a part of the tree cut off from the rest do not all graft the same hash at once
    /// (the first to graft forwards it to the others).
    /// </summary>
    public static readonly TimeSpan GraftTimeout = TimeSpan.FromMilliseconds(1000);

    /// <summary>How often the node looks for missing announced hashes.</summary>
    public static readonly TimeSpan GraftCheckInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a node waits before it pings again a peer whose id it could not learn.</summary>
    public static readonly TimeSpan IdentifyRetry = TimeSpan.FromSeconds(5);

    /// <summary>The most peers a node pings at once to learn their ids.</summary>
    public const int MaxIdentifying = 16;

    /// <summary>The most missing hashes a node tracks; announcements beyond it are ignored (anti-entropy repairs).</summary>
    public const int MaxMissing = 100_000;

    /// <summary>The most announcers remembered per missing hash.</summary>
    public const int MaxAnnouncersPerHash = 4;
}

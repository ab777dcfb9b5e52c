using System;
using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>
/// One message of the <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast"): raw fields, exactly as on the wire.
/// On an eager link it pushes payloads; on a lazy one it announces hashes, and the answer asks for those the responder
/// lacks. The responder checks every length and limit.
/// </summary>
/// <param name="SenderNodeId">The sender's node id (16 bytes, or none), so that the responder sends nothing back on the link the payloads came from.</param>
/// <param name="Assertions">Payloads pushed (at most <see cref="SyncProtocol.MaxGossipBatch"/>).</param>
/// <param name="Announced">Hashes the sender holds and announces (at most <see cref="BroadcastLimits.MaxHashes"/>, 32 bytes each).</param>
/// <param name="Eager">
/// The link is eager and the announced hashes are a backlog sent as hashes instead of payloads: those asked for go on
/// down the tree, and asking for them grafts nothing.
/// </param>
internal sealed record BroadcastRequest(
    ReadOnlyMemory<byte> SenderNodeId,
    IReadOnlyList<GossipMessage> Assertions,
    IReadOnlyList<ReadOnlyMemory<byte>> Announced,
    bool Eager = false);

/// <summary>The answer to a <see cref="BroadcastRequest"/>: raw fields, exactly as on the wire.</summary>
/// <param name="NodeId">The responder's node id (16 bytes, or none).</param>
/// <param name="Results">One result per pushed payload, in order.</param>
/// <param name="Want">Announced hashes the responder lacks and asks for, each once: the sender pushes their payloads next.</param>
/// <param name="Prune">A pushed payload was already held here: the sender makes the link lazy (a prune).</param>
/// <param name="Graft">The responder asks for the link to become eager (a graft), with the payloads it wants.</param>
internal sealed record BroadcastResponse(
    ReadOnlyMemory<byte> NodeId,
    IReadOnlyList<GossipResult> Results,
    IReadOnlyList<ReadOnlyMemory<byte>> Want,
    bool Prune,
    bool Graft);

/// <summary>The limits and timings of the <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast").</summary>
internal static class BroadcastLimits
{
    /// <summary>The most hashes one message announces.</summary>
    public const int MaxHashes = 1000;

    /// <summary>
    /// The most records a node pushes on an eager link at once. A larger batch (a backlog) is announced on the eager
    /// link at once instead, and only the payloads the peer asks for follow: under backlog the peer is likely to hold
    /// many of them already, and a duplicate costs a whole payload where an announcement costs 32 bytes.
    /// </summary>
    public const int MaxEagerPush = 4;

    /// <summary>
    /// How many of its broadcast peers a node picks at random for its broadcast view: the links that get every
    /// announcement, or every payload when eager. Peers that send it broadcast messages join its view too, so that a
    /// view link carries announcements both ways.
    /// </summary>
    public const int ViewSize = 8;

    /// <summary>
    /// How long after a node receives (or ingests) an assertion it announces it on its lazy links: the time the payload
    /// has to reach those peers by the tree first, so that announcements ask for nothing while the tree is whole.
    /// </summary>
    public static readonly TimeSpan AnnounceDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The shortest wait between two rounds of announcements (so that they go in batches).</summary>
    public static readonly TimeSpan AnnounceInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// How long a node waits for a payload it asked for before it asks another announcer: within this time, a hash
    /// announced again is not asked for again.
    /// </summary>
    public static readonly TimeSpan WantTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How often at most a node grafts a link, asking for it to become eager.</summary>
    public static readonly TimeSpan GraftInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How many of the hashes last pulled through lazy links a node remembers (so that a late copy on the tree prunes nothing).</summary>
    public const int MaxPulledRemembered = 10_000;

    /// <summary>The most hashes a node waits for at once; announcements beyond it ask for nothing (anti-entropy repairs).</summary>
    public const int MaxWanted = 100_000;

    /// <summary>The most announcements a node holds back before sending them (the backlog of <see cref="AnnounceDelay"/>).</summary>
    public const int MaxPendingAnnouncements = 100_000;

    /// <summary>How long a node waits before it pings again a peer whose id it could not learn.</summary>
    public static readonly TimeSpan IdentifyRetry = TimeSpan.FromSeconds(5);

    /// <summary>The most peers a node pings at once to learn their ids.</summary>
    public const int MaxIdentifying = 16;
}

using System;
using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>
/// A node's sync status at one moment (<see cref="SyncNode.GetStatus"/>): what it holds, its gossip backlog, and how it
/// stands with each of its peers as of the last anti-entropy pass with that peer.
/// </summary>
public sealed class SyncNodeStatus
{
    internal SyncNodeStatus()
    {
    }

    /// <summary>The node's id.</summary>
    public NodeId NodeId { get; internal init; }

    /// <summary>When the status was taken (the node's <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset At { get; internal init; }

    /// <summary>The number of assertions the node holds.</summary>
    public long Count { get; internal init; }

    /// <summary>The Merkle root of the assertions the node holds.</summary>
    public AssertionHash Root { get; internal init; }

    /// <summary>Assertions queued for gossip and not yet sent (the gossip queue's depth).</summary>
    public int PendingGossip { get; internal init; }

    /// <summary>One entry per peer the node has (<see cref="SyncNode.Peers"/>), in the order they were added.</summary>
    public IReadOnlyList<SyncPeerStatus> Peers { get; internal init; } = Array.Empty<SyncPeerStatus>();
}

/// <summary>
/// How a node stands with one peer, as of its last anti-entropy pass with it. <see cref="Missing"/> is what an operator
/// alerts on: the assertions the peer holds that this node lacks.
/// </summary>
public sealed class SyncPeerStatus
{
    internal SyncPeerStatus()
    {
    }

    /// <summary>The peer's name (<see cref="ISyncPeer.Name"/>: its address, for a gRPC peer).</summary>
    public string Name { get; internal init; } = string.Empty;

    /// <summary>The state the last pass left, or <see cref="SyncPeerState.Unknown"/>/<see cref="SyncPeerState.Syncing"/> before one ended.</summary>
    public SyncPeerState State { get; internal init; }

    /// <summary>
    /// The extensions of the protocol the node uses with the peer: all of them until the peer answers <c>UNIMPLEMENTED</c>
    /// to one (or outside the protocol), <see cref="SyncExtensions.None"/> for a v1 node once passes have shown it.
    /// </summary>
    public SyncExtensions Extensions { get; internal init; }

    /// <summary>Whether a pass with the peer is running now.</summary>
    public bool PassRunning { get; internal init; }

    /// <summary>When the last pass with the peer ended; <see langword="null"/> before one did.</summary>
    public DateTimeOffset? LastPassAt { get; internal init; }

    /// <summary>How long the last pass took; <see langword="null"/> before one ended.</summary>
    public TimeSpan? LastPassDuration { get; internal init; }

    /// <summary>When the last pass that succeeded ended; <see langword="null"/> before one did.</summary>
    public DateTimeOffset? LastSuccessAt { get; internal init; }

    /// <summary>Why the last pass failed (the status code and the first 200 characters of the message); <see langword="null"/> when it succeeded.</summary>
    public string? LastError { get; internal init; }

    /// <summary>The peer's assertion count, as its last root exchange gave it; <see langword="null"/> before one answered.</summary>
    public long? RemoteCount { get; internal init; }

    /// <summary>
    /// The assertions the peer holds that this node lacks: exact (<see cref="MissingExact"/>) when the last pass compared the
    /// two sets completely, what it found and could not store; otherwise estimated as the peer's count less this node's.
    /// 0 when a completed pass found nothing missing.
    /// </summary>
    public long Missing { get; internal init; }

    /// <summary>Whether <see cref="Missing"/> and <see cref="PeerMissing"/> are exact (a complete comparison) rather than estimated from the counts.</summary>
    public bool MissingExact { get; internal init; }

    /// <summary>The assertions this node holds that the peer lacks, by the same rule as <see cref="Missing"/>.</summary>
    public long PeerMissing { get; internal init; }
}

/// <summary>How a node stands with a peer (<see cref="SyncPeerStatus.State"/>).</summary>
public enum SyncPeerState
{
    /// <summary>No pass with the peer has run yet.</summary>
    Unknown,

    /// <summary>The first pass with the peer is running.</summary>
    Syncing,

    /// <summary>The last pass succeeded and left nothing missing on either side.</summary>
    InSync,

    /// <summary>The last pass succeeded but left assertions of the peer this node lacks (refused by verification, or beyond a partial comparison).</summary>
    Behind,

    /// <summary>The last pass succeeded but left assertions of this node the peer lacks (it refused them).</summary>
    PeerBehind,

    /// <summary>The last pass failed because the peer could not be reached or did not answer in time.</summary>
    Unreachable,

    /// <summary>The last pass failed otherwise: the peer refused a call (authentication, authorization, its limits) or answered outside the protocol.</summary>
    Failing,
}

/// <summary>The extensions of the protocol a peer serves (<see cref="SyncPeerStatus.Extensions"/>); <see cref="None"/> is a v1 node.</summary>
[Flags]
public enum SyncExtensions
{
    /// <summary>None: the v1 protocol only.</summary>
    None = 0,

    /// <summary>The <c>GetLeaves</c> cursor (paged leaves).</summary>
    PagedLeaves = 1,

    /// <summary><c>Reconcile</c>.</summary>
    Reconcile = 2,

    /// <summary><c>ReconcileSymbols</c>.</summary>
    ReconcileSymbols = 4,

    /// <summary><c>GossipBatch</c>.</summary>
    GossipBatch = 8,

    /// <summary><c>StreamAssertions</c>.</summary>
    StreamAssertions = 16,

    /// <summary><c>Broadcast</c>.</summary>
    Broadcast = 32,
}

using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>The answer to a gossip push: accepted (stored now or already held) or rejected with a reason.</summary>
/// <param name="Accepted"><see langword="true"/> if the receiver holds the assertion after the call.</param>
/// <param name="Error">Why the assertion was rejected; empty when accepted.</param>
public readonly record struct GossipResult(bool Accepted, string Error)
{
    /// <summary>An accepted result.</summary>
    public static GossipResult Ok => new(true, string.Empty);

    /// <summary>Creates a rejection with a reason.</summary>
    /// <param name="reason">Why the assertion was rejected.</param>
    /// <returns>The rejection.</returns>
    public static GossipResult Rejected(string reason) => new(false, reason);
}

/// <summary>A node's Merkle root and the number of assertions under it.</summary>
/// <param name="Root">The Merkle root of the node's assertion hashes.</param>
/// <param name="Count">The number of assertions (the wire carries it as <c>uint64</c>; an answer above <see cref="long.MaxValue"/> is outside the protocol).</param>
public readonly record struct RootSummary(AssertionHash Root, long Count);

/// <summary>The answer to a root exchange.</summary>
/// <param name="Remote">The answering node's root and count.</param>
/// <param name="RootsMatch">Whether the answering node found its root equal to the caller's.</param>
public readonly record struct RootExchangeResult(RootSummary Remote, bool RootsMatch);

/// <summary>One page of a node's Merkle leaves, in ascending order.</summary>
/// <param name="Leaves">The leaf hashes, ascending.</param>
/// <param name="Truncated">Whether the node holds more leaves than this page returned.</param>
public readonly record struct LeavesPage(IReadOnlyList<AssertionHash> Leaves, bool Truncated);

/// <summary>The answer to a ping.</summary>
/// <param name="NodeId">The answering node's id.</param>
/// <param name="AssertionCount">The number of assertions the answering node holds.</param>
public readonly record struct PingResult(NodeId NodeId, long AssertionCount);

using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>The answer to a gossip push: accepted (stored now or already held) or rejected with a reason.</summary>
public readonly struct GossipResult
{
    /// <summary>Creates an answer.</summary>
    /// <param name="accepted"><see langword="true"/> if the receiver holds the assertion after the call.</param>
    /// <param name="error">Why the assertion was rejected; empty when accepted.</param>
    internal GossipResult(bool accepted, string error)
    {
        Accepted = accepted;
        _error = error;
    }

    private readonly string? _error;

    /// <summary><see langword="true"/> if the receiver holds the assertion after the call.</summary>
    public bool Accepted { get; }

    /// <summary>Why the assertion was rejected; empty when accepted.</summary>
    public string Error => _error ?? string.Empty;

    /// <summary>An accepted result.</summary>
    public static GossipResult Ok => new(true, string.Empty);

    /// <summary>Creates a rejection with a reason.</summary>
    /// <param name="reason">Why the assertion was rejected.</param>
    /// <returns>The rejection.</returns>
    public static GossipResult Rejected(string reason) => new(false, reason);
}

/// <summary>A node's Merkle root and the number of assertions under it.</summary>
/// <param name="root">The Merkle root of the node's assertion hashes.</param>
/// <param name="count">The number of assertions.</param>
public readonly struct RootSummary(AssertionHash root, long count)
{
    /// <summary>The Merkle root of the node's assertion hashes.</summary>
    public AssertionHash Root { get; } = root;

    /// <summary>The number of assertions (the wire carries it as <c>uint64</c>; an answer above <see cref="long.MaxValue"/> is outside the protocol).</summary>
    public long Count { get; } = count;

    /// <summary>Whether both summaries name the same root and count.</summary>
    internal bool SameAs(RootSummary other) => Root == other.Root && Count == other.Count;
}

/// <summary>The answer to a root exchange.</summary>
/// <param name="remote">The answering node's root and count.</param>
/// <param name="rootsMatch">Whether the answering node found its root equal to the caller's.</param>
public readonly struct RootExchangeResult(RootSummary remote, bool rootsMatch)
{
    /// <summary>The answering node's root and count.</summary>
    public RootSummary Remote { get; } = remote;

    /// <summary>Whether the answering node found its root equal to the caller's.</summary>
    public bool RootsMatch { get; } = rootsMatch;
}

/// <summary>One page of a node's Merkle leaves, in ascending order.</summary>
/// <param name="leaves">The leaf hashes, ascending.</param>
/// <param name="truncated">Whether the node holds more leaves than this page returned.</param>
public readonly struct LeavesPage(IReadOnlyList<AssertionHash> leaves, bool truncated)
{
    /// <summary>The leaf hashes, ascending (<see langword="null"/> only in a default value, which the engine treats as an answer outside the protocol).</summary>
    public IReadOnlyList<AssertionHash> Leaves { get; } = leaves;

    /// <summary>Whether the node holds more leaves than this page returned.</summary>
    public bool Truncated { get; } = truncated;
}

/// <summary>The answer to a ping.</summary>
/// <param name="nodeId">The answering node's id.</param>
/// <param name="assertionCount">The number of assertions the answering node holds.</param>
public readonly struct PingResult(NodeId nodeId, long assertionCount)
{
    /// <summary>The answering node's id.</summary>
    public NodeId NodeId { get; } = nodeId;

    /// <summary>The number of assertions the answering node holds.</summary>
    public long AssertionCount { get; } = assertionCount;
}

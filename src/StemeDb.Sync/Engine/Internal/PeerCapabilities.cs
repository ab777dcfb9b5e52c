using System.Threading;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// What the engine has learned about a peer's support of the extensions. Every extension is assumed until the peer
/// shows it lacks it (a v1 node answers <c>UNIMPLEMENTED</c>, or answers outside the protocol); that is remembered.
/// </summary>
internal sealed class PeerCapabilities
{
    private volatile bool _reconcileSymbols = true;
    private volatile bool _reconcile = true;
    private volatile bool _paging = true;
    private volatile bool _gossipBatch = true;
    private ConvergedSummaries? _converged;

    /// <summary>Whether the peer answers <c>ReconcileSymbols</c>.</summary>
    public bool ReconcileSymbols { get => _reconcileSymbols; set => _reconcileSymbols = value; }

    /// <summary>Whether the peer answers <c>Reconcile</c>.</summary>
    public bool Reconcile { get => _reconcile; set => _reconcile = value; }

    /// <summary>Whether the peer honours the <c>GetLeaves</c> cursor and lists its leaves in ascending order.</summary>
    public bool Paging { get => _paging; set => _paging = value; }

    /// <summary>Whether the peer answers <c>GossipBatch</c>.</summary>
    public bool GossipBatch { get => _gossipBatch; set => _gossipBatch = value; }

    /// <summary>
    /// Both sides' roots and counts at the start of the last pass whose complete diff found the two sets equal, or
    /// <see langword="null"/>. Sets only grow, so while both summaries are unchanged the sets are still equal, even
    /// with a peer whose root scheme differs from ours (a v1 node): the next pass can skip the leaf listing.
    /// </summary>
    public ConvergedSummaries? Converged { get => Volatile.Read(ref _converged); set => Volatile.Write(ref _converged, value); }
}

/// <summary>The local and remote root summaries of a pass that found both sets equal.</summary>
internal sealed record ConvergedSummaries(RootSummary Local, RootSummary Remote);

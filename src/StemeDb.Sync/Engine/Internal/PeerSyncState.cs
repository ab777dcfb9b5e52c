using System.Runtime.CompilerServices;
using System.Threading;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// What the engine keeps about one peer between passes: which extensions it has shown it lacks (every extension is
/// assumed until the peer answers <c>UNIMPLEMENTED</c>, or answers outside the protocol; that is remembered), where
/// a broken streaming pull resumes, the count it was last streamed at, and the summaries both sides had when they last
/// converged.
/// </summary>
internal sealed class PeerSyncState
{
    private volatile bool _reconcileSymbols = true;
    private volatile bool _reconcile = true;
    private volatile bool _paging = true;
    private volatile bool _gossipBatch = true;
    private volatile bool _stream = true;
    private volatile bool _broadcast = true;
    private volatile bool _eager;
    private volatile bool _inView;
    private StrongBox<NodeId>? _remoteId;
    private long _identifiedAt = long.MinValue;
    private ConvergedSummaries? _converged;
    private StrongBox<AssertionHash>? _streamResumeAfter;
    private long _streamedAtRemoteCount = -1;

    /// <summary>Whether the peer answers <c>ReconcileSymbols</c>.</summary>
    public bool ReconcileSymbols { get => _reconcileSymbols; set => _reconcileSymbols = value; }

    /// <summary>Whether the peer answers <c>Reconcile</c>.</summary>
    public bool Reconcile { get => _reconcile; set => _reconcile = value; }

    /// <summary>Whether the peer honours the <c>GetLeaves</c> cursor and lists its leaves in ascending order.</summary>
    public bool Paging { get => _paging; set => _paging = value; }

    /// <summary>Whether the peer answers <c>GossipBatch</c>.</summary>
    public bool GossipBatch { get => _gossipBatch; set => _gossipBatch = value; }

    /// <summary>Whether the peer answers <c>StreamAssertions</c> (and its answers were usable).</summary>
    public bool Stream { get => _stream; set => _stream = value; }

    /// <summary>Whether the peer answers <c>Broadcast</c>.</summary>
    public bool Broadcast { get => _broadcast; set => _broadcast = value; }

    /// <summary>
    /// Whether the broadcast link to this peer is eager (new payloads are pushed on it) rather than lazy (their hashes
    /// are announced on it). Both ends keep it: a prune makes it lazy, a graft or a first delivery eager.
    /// </summary>
    public bool Eager { get => _eager; set => _eager = value; }

    /// <summary>
    /// Whether the link is in the node's broadcast view: the links that get every announcement (lazy ones) or payload
    /// (eager ones). Chosen at random up to <see cref="BroadcastLimits.ViewSize"/>, and joined by every peer that sends
    /// this node broadcast messages.
    /// </summary>
    public bool InView { get => _inView; set => _inView = value; }

    /// <summary>The peer's node id, as its broadcast answers name it; <see langword="null"/> until one did.</summary>
    public NodeId? RemoteId
    {
        get => Volatile.Read(ref _remoteId)?.Value;
        set => Volatile.Write(ref _remoteId, value is { } id ? new StrongBox<NodeId>(id) : null);
    }

    /// <summary>When the node last pinged the peer to learn its id (a <see cref="System.TimeProvider"/> timestamp), or <see cref="long.MinValue"/>.</summary>
    public long IdentifiedAt { get => Interlocked.Read(ref _identifiedAt); set => Interlocked.Exchange(ref _identifiedAt, value); }

    /// <summary>
    /// Where the last streaming pull from this peer broke: every hash up to it was stored or refused, so the next pull
    /// resumes after it. <see langword="null"/> when no pull broke (or the last one completed).
    /// </summary>
    public AssertionHash? StreamResumeAfter
    {
        get => Volatile.Read(ref _streamResumeAfter)?.Value;
        set => Volatile.Write(ref _streamResumeAfter, value is { } hash ? new StrongBox<AssertionHash>(hash) : null);
    }

    /// <summary>
    /// The peer's count when the last streaming pull from it completed, or -1 when none did. The next pull from it waits
    /// until it has gained <see cref="StreamBootstrap.MinimumLead"/> more, so that a peer whose records this node refuses
    /// (or one that reports a count it does not hold) is not streamed again on every pass.
    /// </summary>
    public long StreamedAtRemoteCount { get => Interlocked.Read(ref _streamedAtRemoteCount); set => Interlocked.Exchange(ref _streamedAtRemoteCount, value); }

    /// <summary>
    /// Both sides' roots and counts at the start of the last pass whose complete diff found the two sets equal, or
    /// <see langword="null"/>. Sets only grow, so while both summaries are unchanged the sets are still equal, even
    /// with a peer whose root scheme differs from ours (a v1 node): the next pass can skip the leaf listing.
    /// </summary>
    public ConvergedSummaries? Converged { get => Volatile.Read(ref _converged); set => Volatile.Write(ref _converged, value); }

    /// <summary>How the passes with this peer went, for the node's status and gauges.</summary>
    public PeerPassRecord Passes { get; } = new();

    /// <summary>The extensions the node uses with this peer: every one it has not seen the peer lack.</summary>
    public SyncExtensions Extensions =>
        (_paging ? SyncExtensions.PagedLeaves : 0)
        | (_reconcile ? SyncExtensions.Reconcile : 0)
        | (_reconcileSymbols ? SyncExtensions.ReconcileSymbols : 0)
        | (_gossipBatch ? SyncExtensions.GossipBatch : 0)
        | (_stream ? SyncExtensions.StreamAssertions : 0)
        | (_broadcast ? SyncExtensions.Broadcast : 0);
}

/// <summary>The local and remote root summaries of a pass that found both sets equal.</summary>
internal sealed record ConvergedSummaries(RootSummary Local, RootSummary Remote);

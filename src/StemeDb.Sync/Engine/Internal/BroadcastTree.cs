using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// The node's side of the epidemic broadcast tree (Plumtree; docs/PROTOCOL.md, "Broadcast") over the peers the host
/// gave it. Each link is the caller's: a node pushes new payloads on its eager links and announces their hashes on its
/// lazy ones, and the peer's answers steer the link (a duplicate prunes it, a hash asked for grafts it). This class holds
/// what the receiving side keeps: which node each link leads to, and which announced hashes it asked for and still waits for.
/// No membership of its own: the links are the node's peers that answer <c>Broadcast</c>.
/// </summary>
internal sealed class BroadcastTree
{
    private readonly PeerTable _peers;
    private readonly MerkleIndex _index;
    private readonly TimeProvider _time;
    private readonly NodeRandomness _random;
    private readonly int _startEager;
    private readonly object _gate = new();
    private readonly Dictionary<AssertionHash, (long Until, bool Graft)> _wanted = new();
    private readonly HashSet<AssertionHash> _pulled = new();
    private readonly Queue<AssertionHash> _pulledOrder = new();
    private long _nextGraft = long.MinValue;

    private readonly Queue<(AssertionHash Hash, long Until)> _wantedOrder = new();
    private volatile bool _started;

    public BroadcastTree(NodeId self, PeerTable peers, MerkleIndex index, int startEager, NodeRandomness random, TimeProvider time)
    {
        _random = random;
        Self = self;
        SelfBytes = self.ToArray();
        _peers = peers;
        _index = index;
        _startEager = startEager;
        _time = time;
    }

    /// <summary>This node's id, sent with every broadcast message and answer.</summary>
    public NodeId Self { get; }

    /// <summary>This node's id as bytes (shared, never written).</summary>
    public ReadOnlyMemory<byte> SelfBytes { get; }

    /// <summary>
    /// The links of the broadcast view, topped up at random to <see cref="BroadcastLimits.ViewSize"/> from the
    /// broadcast peers (a view link that was removed, or lost the extension, is replaced). The first time, <c>startEager</c>
    /// of them start eager; the others lazy, and the answers make links eager or lazy from then on.
    /// </summary>
    public List<PeerEntry> View()
    {
        var view = new List<PeerEntry>();
        List<PeerEntry>? spare = null;
        foreach (PeerEntry entry in _peers.Snapshot)
        {
            if (!entry.Calls.Capabilities.Broadcast || entry.IsRemoved)
            {
                continue;
            }

            if (entry.Calls.Capabilities.InView || entry.Calls.Capabilities.Eager)
            {
                view.Add(entry);
            }
            else
            {
                (spare ??= new List<PeerEntry>()).Add(entry);
            }
        }

        if (view.Count < BroadcastLimits.ViewSize && spare is not null)
        {
            foreach (PeerEntry chosen in _random.Pick(spare.ToArray(), BroadcastLimits.ViewSize - view.Count))
            {
                chosen.Calls.Capabilities.InView = true;
                view.Add(chosen);
            }
        }

        if (!_started && view.Count != 0)
        {
            _started = true;
            foreach (PeerEntry chosen in _random.Pick(view.ToArray(), _startEager))
            {
                chosen.Calls.Capabilities.Eager = true;
            }
        }

        return view;
    }

    /// <summary>The link that leads to the node <paramref name="senderNodeId"/>; <see langword="null"/> when none is known to.</summary>
    public PeerEntry? LinkOf(ReadOnlySpan<byte> senderNodeId)
    {
        if (senderNodeId.Length != NodeId.Length)
        {
            return null;
        }

        var id = new NodeId(senderNodeId);
        foreach (PeerEntry entry in _peers.Snapshot)
        {
            if (entry.Calls.Capabilities.RemoteId == id && !entry.IsRemoved)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>Records the node id a peer's answer named (the first one named sticks).</summary>
    public static void Learn(PeerEntry peer, ReadOnlySpan<byte> nodeId)
    {
        if (nodeId.Length == NodeId.Length && peer.Calls.Capabilities.RemoteId is null)
        {
            peer.Calls.Capabilities.RemoteId = new NodeId(nodeId);
        }
    }

    /// <summary>
    /// Of the announced hashes, those to ask the announcer for: not held here, and not asked for from anyone within
    /// <see cref="BroadcastLimits.WantTimeout"/>. Each is remembered as asked for; at most
    /// <see cref="BroadcastLimits.MaxWanted"/> are waited for at once. <c>Graft</c>: whether to make the link eager too,
    /// at most once per <see cref="BroadcastLimits.GraftInterval"/>: a node cut off from the tree misses every
    /// assertion and hears of each from another announcer, and one graft joins it to the tree where a graft for each
    /// would tie it in many times over (each extra link a loop that carries duplicates). <paramref name="onTree"/>: the
    /// hashes were announced on an eager link (a backlog), so those asked for come by the tree, and nothing is grafted.
    /// </summary>
    public (List<ReadOnlyMemory<byte>> Want, bool Graft) Want(IReadOnlyList<ReadOnlyMemory<byte>> announced, bool onTree = false)
    {
        var want = new List<ReadOnlyMemory<byte>>();
        long now = _time.GetTimestamp();
        long until = now + ToTimestamp(BroadcastLimits.WantTimeout);
        bool graft = false;
        lock (_gate)
        {
            Expire(now);
            foreach (ReadOnlyMemory<byte> raw in announced)
            {
                var hash = new AssertionHash(raw.Span);
                if (_index.Contains(hash) || _wanted.ContainsKey(hash))
                {
                    continue;
                }

                if (_wanted.Count >= BroadcastLimits.MaxWanted || _wantedOrder.Count >= 2 * BroadcastLimits.MaxWanted)
                {
                    SyncDiagnostics.BroadcastWantsSkipped.Add(1);
                    continue;
                }

                if (want.Count == 0 && !onTree && now >= _nextGraft)
                {
                    graft = true;
                    _nextGraft = now + ToTimestamp(BroadcastLimits.GraftInterval);
                }

                _wanted.Add(hash, (until, graft || onTree));
                _wantedOrder.Enqueue((hash, until));
                want.Add(raw);
            }
        }

        return (want, graft);
    }

    /// <summary>
    /// A payload arrived: it is no longer waited for. Whether it came as pushed on the tree (not asked for, or asked for
    /// with a graft) rather than pulled through a lazy link that stays lazy.
    /// </summary>
    public bool Arrived(AssertionHash hash)
    {
        lock (_gate)
        {
            if (!_wanted.Remove(hash, out (long Until, bool Graft) wanted) || wanted.Graft)
            {
                return true;
            }

            if (_pulled.Add(hash))
            {
                _pulledOrder.Enqueue(hash);
                if (_pulledOrder.Count > BroadcastLimits.MaxPulledRemembered)
                {
                    _pulled.Remove(_pulledOrder.Dequeue());
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Whether a copy of <paramref name="hash"/> pushed on the tree is redundant: not when the copy held came by a pull
    /// (the tree was late, not looping, and pruning it would cut the tree where it works).
    /// </summary>
    public bool IsRedundant(AssertionHash hash)
    {
        lock (_gate)
        {
            return !_pulled.Contains(hash);
        }
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private void Expire(long now)
    {
        while (_wantedOrder.TryPeek(out (AssertionHash Hash, long Until) oldest) && oldest.Until <= now)
        {
            _wantedOrder.Dequeue();
            if (_wanted.TryGetValue(oldest.Hash, out (long Until, bool Graft) wanted) && wanted.Until == oldest.Until)
            {
                _wanted.Remove(oldest.Hash);
            }
        }
    }
}

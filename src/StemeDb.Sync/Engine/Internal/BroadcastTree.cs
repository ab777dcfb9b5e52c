using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// The node's side of the epidemic broadcast tree (Plumtree; docs/PROTOCOL.md, "Broadcast") over the peers the host
/// gave it: which links are eager (new payloads are pushed on them) and which lazy (only their hashes are announced),
/// and which announced hashes are still missing here, with the peers that announced them. No membership of its own:
/// the links are the node's peers that answer <c>Broadcast</c>.
/// </summary>
/// <remarks>
/// The rules, on both ends of a link: a first delivery of a payload makes the link it came on eager; a payload already
/// held makes it lazy (and the answer says <c>prune</c>, so the sender's end follows); a graft makes it eager again.
/// A node starts with <see cref="SyncNodeOptions.GossipFanout"/> eager links. Pruning leaves a spanning tree on which
/// each node receives each payload about once; the announcements on lazy links heal it: a hash announced and still
/// missing after <see cref="BroadcastLimits.GraftTimeout"/> is grafted from an announcer.
/// </remarks>
internal sealed class BroadcastTree
{
    private readonly PeerTable _peers;
    private readonly MerkleIndex _index;
    private readonly TimeProvider _time;
    private readonly NodeRandomness _random;
    private readonly int _startEager;
    private readonly object _gate = new();
    private readonly Dictionary<AssertionHash, Missing> _missing = new();
    private readonly HashSet<AssertionHash> _grafted = new();
    private readonly Queue<AssertionHash> _graftedOrder = new();
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

    /// <summary>How many announced hashes are missing here now.</summary>
    public int MissingCount
    {
        get
        {
            lock (_gate)
            {
                return _missing.Count;
            }
        }
    }

    /// <summary>
    /// The eager links to start from, chosen when the node first sends: <see cref="SyncNodeOptions.GossipFanout"/> of
    /// its broadcast links at random (so that nodes given the same peer list do not all pick the same ones). Others
    /// become eager by the rules; a node cut off by pruning is grafted back.
    /// </summary>
    public void EnsureEagerLinks()
    {
        PeerEntry[] peers = _peers.Snapshot;
        int eager = 0;
        var lazy = new List<PeerEntry>(peers.Length);
        foreach (PeerEntry entry in peers)
        {
            if (!entry.Calls.Capabilities.Broadcast || entry.IsRemoved)
            {
                continue;
            }

            if (entry.Calls.Capabilities.Eager)
            {
                eager++;
            }
            else
            {
                lazy.Add(entry);
            }
        }

        if (_started)
        {
            return;
        }

        _started = true;
        int wanted = _startEager;
        if (eager >= wanted || lazy.Count == 0)
        {
            return;
        }

        foreach (PeerEntry chosen in _random.Pick(lazy.ToArray(), wanted - eager))
        {
            chosen.Calls.Capabilities.Eager = true;
        }
    }

    /// <summary>The link a message came on: the peer whose answers named <paramref name="senderNodeId"/>; <see langword="null"/> when none did yet.</summary>
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

    /// <summary>Hashes <paramref name="from"/> announced: each one not held here is remembered as missing, with its announcer.</summary>
    public void Announced(PeerEntry from, IReadOnlyList<ReadOnlyMemory<byte>> hashes)
    {
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            foreach (ReadOnlyMemory<byte> raw in hashes)
            {
                var hash = new AssertionHash(raw.Span);
                if (_index.Contains(hash))
                {
                    continue;
                }

                if (_missing.TryGetValue(hash, out Missing? missing))
                {
                    if (missing.Announcers.Count < BroadcastLimits.MaxAnnouncersPerHash && !missing.Announcers.Contains(from))
                    {
                        missing.Announcers.Add(from);
                    }
                }
                else if (_missing.Count < BroadcastLimits.MaxMissing)
                {
                    _missing.Add(hash, new Missing(now + Due(), from));
                }
                else
                {
                    SyncDiagnostics.BroadcastAnnouncementsIgnored.Add(1);
                }
            }
        }
    }

    /// <summary>A payload arrived: its hash is no longer missing.</summary>
    public void Arrived(AssertionHash hash)
    {
        lock (_gate)
        {
            _missing.Remove(hash);
        }
    }

    /// <summary>A payload arrived by a graft: a later copy of it on an eager link is late, not redundant, and prunes nothing.</summary>
    public void ArrivedByGraft(AssertionHash hash)
    {
        lock (_gate)
        {
            if (_grafted.Add(hash))
            {
                _graftedOrder.Enqueue(hash);
                if (_graftedOrder.Count > BroadcastLimits.MaxMissing)
                {
                    _grafted.Remove(_graftedOrder.Dequeue());
                }
            }
        }
    }

    /// <summary>Whether the payload of <paramref name="hash"/> arrived here by a graft (among the last ones remembered).</summary>
    public bool CameByGraft(AssertionHash hash)
    {
        lock (_gate)
        {
            return _grafted.Contains(hash);
        }
    }

    /// <summary>
    /// The grafts due now: for every hash missing for <see cref="BroadcastLimits.GraftTimeout"/> (and a random share of
    /// it) since it was announced, or since its last graft, the next announcer not yet asked, grouped by announcer, at most
    /// <see cref="BroadcastLimits.MaxHashes"/> per message. A hash whose announcers were all asked, or that arrived,
    /// is forgotten (anti-entropy delivers what is still missing).
    /// </summary>
    public List<(PeerEntry Peer, List<AssertionHash> Hashes)> DueGrafts()
    {
        long now = _time.GetTimestamp();
        var due = new List<(PeerEntry Peer, List<AssertionHash> Hashes)>();
        lock (_gate)
        {
            List<AssertionHash>? forget = null;
            foreach ((AssertionHash hash, Missing missing) in _missing)
            {
                if (now < missing.Due)
                {
                    continue;
                }

                // One link grafted per round where one will do: an announcer this round already asks is asked for this hash too.
                PeerEntry? next = null;
                foreach ((PeerEntry chosen, List<AssertionHash> _) in due)
                {
                    if (missing.Announcers.IndexOf(chosen) >= missing.Next)
                    {
                        next = chosen;
                        break;
                    }
                }

                while (next is null && missing.Next < missing.Announcers.Count)
                {
                    PeerEntry candidate = missing.Announcers[missing.Next++];
                    next = candidate.IsRemoved ? null : candidate;
                }

                if (next is null || _index.Contains(hash))
                {
                    (forget ??= new List<AssertionHash>()).Add(hash);
                    continue;
                }

                missing.Due = now + Due();
                int slot = due.FindIndex(d => ReferenceEquals(d.Peer, next) && d.Hashes.Count < BroadcastLimits.MaxHashes);
                if (slot < 0)
                {
                    due.Add((next, new List<AssertionHash> { hash }));
                }
                else
                {
                    due[slot].Hashes.Add(hash);
                }
            }

            if (forget is not null)
            {
                foreach (AssertionHash hash in forget)
                {
                    _missing.Remove(hash);
                }
            }
        }

        return due;
    }

    /// <summary>The wait before a graft, in timestamp units: the graft timeout and a random share of it again.</summary>
    private long Due()
    {
        TimeSpan wait = BroadcastLimits.GraftTimeout + _random.Jitter(BroadcastLimits.GraftTimeout);
        return (long)(wait.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>A hash announced and not yet held: when a graft is due, by whom it was announced, and who was asked.</summary>
    private sealed class Missing(long due, PeerEntry first)
    {
        public long Due { get; set; } = due;

        public List<PeerEntry> Announcers { get; } = new(2) { first };

        public int Next { get; set; }
    }
}

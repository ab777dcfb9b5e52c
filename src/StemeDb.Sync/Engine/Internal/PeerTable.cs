using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>A peer the node knows: its calls (with what the engine learned of it), its anti-entropy loop, and its removal.</summary>
internal sealed class PeerEntry
{
    private readonly CancellationTokenSource _removed = new();

    public PeerEntry(PeerCalls calls) => Calls = calls;

    public PeerCalls Calls { get; }

    public ISyncPeer Peer => Calls.Peer;

    public Task? Loop { get; set; }

    public CancellationToken Removed => _removed.Token;

    public bool IsRemoved => _removed.IsCancellationRequested;

    public void Remove() => _removed.Cancel();
}

/// <summary>
/// The peers of a node, as an immutable snapshot replaced on every change (readers never lock), and the calls for
/// any peer, added or not: what the engine learns of a peer (a v1 node, say) is kept for as long as the peer object lives.
/// </summary>
internal sealed class PeerTable
{
    private readonly Func<ISyncPeer, PeerCalls> _newCalls;
    private readonly ConditionalWeakTable<ISyncPeer, PeerCalls> _calls = new();
    private PeerEntry[] _entries = Array.Empty<PeerEntry>();

    public PeerTable(Func<ISyncPeer, PeerCalls> newCalls) => _newCalls = newCalls;

    /// <summary>The peers now.</summary>
    public PeerEntry[] Snapshot => Volatile.Read(ref _entries);

    /// <summary>The engine's calls to <paramref name="peer"/>, the same object for the peer's whole life.</summary>
    public PeerCalls CallsFor(ISyncPeer peer) => _calls.GetValue(peer, p => _newCalls(p));

    /// <summary>Adds a peer; <see langword="null"/> when the same peer object is already known. Call under the node's gate.</summary>
    public PeerEntry? Add(ISyncPeer peer)
    {
        PeerEntry[] current = _entries;
        foreach (PeerEntry existing in current)
        {
            if (ReferenceEquals(existing.Peer, peer))
            {
                return null;
            }
        }

        var entry = new PeerEntry(CallsFor(peer));
        var entries = new PeerEntry[current.Length + 1];
        current.CopyTo(entries, 0);
        entries[^1] = entry;
        Volatile.Write(ref _entries, entries);
        return entry;
    }

    /// <summary>Removes a peer; <see langword="null"/> when it is not known. Call under the node's gate.</summary>
    public PeerEntry? Remove(ISyncPeer peer)
    {
        PeerEntry[] current = _entries;
        int index = Array.FindIndex(current, e => ReferenceEquals(e.Peer, peer));
        if (index < 0)
        {
            return null;
        }

        PeerEntry removed = current[index];
        var entries = new PeerEntry[current.Length - 1];
        Array.Copy(current, 0, entries, 0, index);
        Array.Copy(current, index + 1, entries, index, current.Length - index - 1);
        Volatile.Write(ref _entries, entries);
        return removed;
    }
}

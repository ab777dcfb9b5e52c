using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>A scripted peer that records what it was sent.</summary>
internal sealed class FakePeer : ISyncPeer
{
    private int _gossipCalls;

    public FakePeer(string name) => Name = name;

    public string Name { get; }

    public ConcurrentQueue<AssertionRecord> Gossiped { get; } = new();

    public int GossipCalls => Volatile.Read(ref _gossipCalls);

    /// <summary>Answers gossip attempt n (1-based); default: accept.</summary>
    public Func<AssertionRecord, int, GossipResult> OnGossip { get; set; } = (_, _) => GossipResult.Ok;

    public RootSummary Remote { get; set; }

    public IReadOnlyList<AssertionHash> Leaves { get; set; } = Array.Empty<AssertionHash>();

    public Func<IReadOnlyList<AssertionHash>, IReadOnlyList<AssertionRecord>> OnFetch { get; set; } = _ => Array.Empty<AssertionRecord>();

    public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        int attempt = Interlocked.Increment(ref _gossipCalls);
        GossipResult result = OnGossip(record, attempt);
        Gossiped.Enqueue(record);
        return new ValueTask<GossipResult>(result);
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
        new(new RootExchangeResult(Remote, Remote.Root == local.Root));

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        new(new LeavesPage(Leaves, false));

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
        new(OnFetch(hashes));

    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
        new(new PingResult(default, Leaves.Count));
}

/// <summary>Wraps a peer and counts fetch calls and the largest batch.</summary>
internal sealed class CountingPeer : ISyncPeer
{
    private readonly ISyncPeer _inner;

    public CountingPeer(ISyncPeer inner) => _inner = inner;

    public string Name => _inner.Name;

    public int FetchCalls { get; private set; }

    public int LargestFetch { get; private set; }

    public int GossipCalls { get; private set; }

    public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        GossipCalls++;
        return _inner.GossipAsync(record, cancellationToken);
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
        _inner.ExchangeRootsAsync(local, cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        _inner.GetLeavesAsync(maxLeaves, cancellationToken);

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        FetchCalls++;
        LargestFetch = Math.Max(LargestFetch, hashes.Count);
        return _inner.FetchAsync(hashes, cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
        _inner.PingAsync(self, cancellationToken);
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Net.Client;
using StemeDb.Sync.Grpc.Tests.Support;
using Reference = Stemedb.Sync.V1;

namespace StemeDb.Sync.Grpc.Tests.V1Reference;

/// <summary>
/// A node with default settings against peers generated from the original v1 contract only: the v1-only
/// <see cref="ReferenceV1Server"/> (hash and data only, a root scheme of its own, UNIMPLEMENTED extensions) and a
/// v1 client.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public class ReferenceV1PeerTests
{
    [Test]
    public async Task DefaultNode_V1Server_PullsUpTo10000AndPushesOwn(CancellationToken cancellationToken)
    {
        await using ReferenceV1Host host = await ReferenceV1Host.StartAsync();
        AssertionRecord[] seed = Enumerable.Range(0, 10_000).Select(i => Records.Create($"v1-seed-{i}")).ToArray();
        foreach (AssertionRecord record in seed)
        {
            host.Server.Put(record);
        }

        var store = new InMemoryAssertionStore();
        await using var node = new SyncNode(new SyncNodeOptions(), store);
        await node.StartAsync(cancellationToken);
        AssertionRecord[] own = Enumerable.Range(0, 20).Select(i => Records.Create($"csharp-{i}")).ToArray();
        foreach (AssertionRecord record in own)
        {
            await node.IngestAsync(record.Data, cancellationToken);
        }

        using GrpcSyncPeer peer = GrpcSyncPeer.Create(host.Address);
        node.AddPeer(peer); // default settings: the first pass runs within seconds

        await Poll.UntilAsync(() => node.Count == 10_020 && host.Server.Count == 10_020, cancellationToken);

        Assert.That(await HashesAsync(store, cancellationToken), Is.EquivalentTo(host.Server.Hashes), "both sides hold the same leaf set");
        Assert.That(host.Server.Calls("FetchAssertions"), Is.EqualTo(10), "10,000 pulled in fetches of 1,000");

        // Records arrived without HLC: each was stamped with the HLC inside its content.
        IReadOnlyList<AssertionRecord> stored = await store.GetManyAsync(seed.Take(50).Select(r => r.Hash).ToArray(), cancellationToken);
        Assert.That(stored.Select(r => r.Timestamp), Is.EqualTo(seed.Take(50).Select(r => r.Timestamp)));

        // New local assertions reach the v1 node by gossip.
        AssertionRecord late = Records.Create("csharp-late");
        await node.IngestAsync(late.Data, cancellationToken);
        await Poll.UntilAsync(() => host.Server.Hashes.Contains(late.Hash), cancellationToken);
    }

    [Test]
    public async Task SyncWithPeer_V1ServerUnchanged_SkipsLeafListing(CancellationToken cancellationToken)
    {
        await using ReferenceV1Host host = await ReferenceV1Host.StartAsync();
        for (int i = 0; i < 300; i++)
        {
            host.Server.Put(Records.Create($"v1-{i}"));
        }

        await using SyncNode node = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(host.Address);

        SyncPassResult first = await node.SyncWithPeerAsync(peer, cancellationToken);   // pulls 300
        SyncPassResult second = await node.SyncWithPeerAsync(peer, cancellationToken);  // lists, finds the sets equal
        int listings = host.Server.Calls("GetLeaves");
        int exchanges = host.Server.Calls("ExchangeRoots");
        SyncPassResult third = await node.SyncWithPeerAsync(peer, cancellationToken);   // nothing changed

        Assert.That(first.Fetched, Is.EqualTo(300));
        Assert.That(second is { Fetched: 0, Pushed: 0, Unchanged: false, RootsMatched: false }, Is.True, second.ToString());
        Assert.That(third.Unchanged, Is.True);
        Assert.That(third.RoundTrips, Is.EqualTo(1));
        Assert.That(host.Server.Calls("GetLeaves"), Is.EqualTo(listings), "no leaf listing");
        Assert.That(host.Server.Calls("ExchangeRoots"), Is.EqualTo(exchanges + 1));

        // A change on either side is seen at once: the summaries differ, so the next pass lists again.
        AssertionRecord remoteNew = Records.Create("v1-new");
        host.Server.Put(remoteNew);
        SyncPassResult afterRemote = await node.SyncWithPeerAsync(peer, cancellationToken);
        await node.IngestAsync(Records.Create("local-new").Data, cancellationToken);
        SyncPassResult afterLocal = await node.SyncWithPeerAsync(peer, cancellationToken);

        Assert.That(afterRemote is { Unchanged: false, Fetched: 1 }, Is.True, afterRemote.ToString());
        Assert.That(afterLocal is { Unchanged: false, Pushed: 1 }, Is.True, afterLocal.ToString());
        Assert.That(node.Count, Is.EqualTo(302));
        Assert.That(host.Server.Count, Is.EqualTo(302));
    }

    [Test]
    public async Task ReconcileSymbols_V1Server_RefusedUnimplementedAtTheFirstExchange(CancellationToken cancellationToken)
    {
        await using ReferenceV1Host host = await ReferenceV1Host.StartAsync();
        host.Server.Put(Records.Create("v1-only"));
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(host.Address);

        SyncPeerException? ex = Assert.ThrowsAsync<SyncPeerException>(async () =>
        {
            await using IReconcileSymbolsCall call = await ((ISyncPeer)peer).OpenReconcileSymbolsAsync(cancellationToken);
            await call.ExchangeAsync(new ReconcileSymbolsRequest(1, 0, 6, 0), cancellationToken);
        });

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unimplemented), ex.Message);
        Assert.That(host.Server.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task V1Client_GossipFetchLeaves_AnsweredWithoutExtensions(CancellationToken cancellationToken)
    {
        await using SyncNode node = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(node.Handler);
        using GrpcChannel channel = host.CreateChannel();
        var client = new Reference.SyncService.SyncServiceClient(channel);
        AssertionRecord[] records = Enumerable.Range(0, 12).Select(i => Records.Create($"v1-client-{i}")).ToArray();

        // Gossip with only hash and data (no HLC), and with a full v1 HLC.
        foreach (AssertionRecord record in records.Take(6))
        {
            Reference.GossipResponse answer = await client.GossipAsync(
                new Reference.GossipRequest { AssertionHash = Bytes(record.Hash), AssertionData = ByteString.CopyFrom(record.Data.Span) },
                cancellationToken: cancellationToken);
            Assert.That(answer.Accepted, Is.True, answer.Error);
        }

        foreach (AssertionRecord record in records.Skip(6))
        {
            Reference.GossipResponse answer = await client.GossipAsync(
                new Reference.GossipRequest
                {
                    AssertionHash = Bytes(record.Hash),
                    AssertionData = ByteString.CopyFrom(record.Data.Span),
                    HlcTime = record.Timestamp.Time,
                    HlcCounter = record.Timestamp.Counter,
                    HlcNodeId = ByteString.CopyFrom(record.Timestamp.NodeId.ToArray()),
                },
                cancellationToken: cancellationToken);
            Assert.That(answer.Accepted, Is.True, answer.Error);
        }

        // GetLeaves: max_leaves is uint64; 2^32 + 5 is above the cap (all 12), not 5.
        Reference.GetLeavesResponse leaves = await client.GetLeavesAsync(
            new Reference.GetLeavesRequest { MaxLeaves = (1UL << 32) + 5 }, cancellationToken: cancellationToken);
        Reference.GetLeavesResponse five = await client.GetLeavesAsync(
            new Reference.GetLeavesRequest { MaxLeaves = 5 }, cancellationToken: cancellationToken);

        Reference.FetchResponse fetched = await client.FetchAssertionsAsync(
            new Reference.FetchRequest { Hashes = { records.Select(r => Bytes(r.Hash)) } }, cancellationToken: cancellationToken);

        Assert.That(leaves.Leaves.Select(l => new AssertionHash(l.Span)), Is.EqualTo(records.Select(r => r.Hash).Order()));
        Assert.That(leaves.Truncated, Is.False);
        Assert.That(five.Leaves, Has.Count.EqualTo(5));
        Assert.That(five.Truncated, Is.True);
        Assert.That(fetched.Assertions.Select(a => new AssertionHash(a.Hash.Span)), Is.EqualTo(records.Select(r => r.Hash)));
        Assert.That(fetched.Assertions.Select(a => a.Data.ToByteArray()), Is.EqualTo(records.Select(r => r.Data.ToArray())));

        // The stamp of a push without HLC is the HLC inside the assertion; a sent one is kept as sent.
        IReadOnlyList<AssertionRecord> stored = await node.Handler.FetchAsync(records.Select(r => (ReadOnlyMemory<byte>)r.Hash.ToArray()).ToArray(), cancellationToken);
        Assert.That(stored.Select(r => r.Timestamp), Is.EqualTo(records.Select(r => r.Timestamp)));
    }

    private static ByteString Bytes(AssertionHash hash) => ByteString.CopyFrom(hash.ToArray());

    private static async Task<List<AssertionHash>> HashesAsync(IAssertionStore store, CancellationToken cancellationToken)
    {
        var hashes = new List<AssertionHash>();
        await foreach (AssertionHash hash in store.EnumerateHashesAsync(cancellationToken))
        {
            hashes.Add(hash);
        }

        return hashes;
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

[TestFixture]
public sealed class SyncNodeTests
{
    private readonly StartedNodes _nodes = new();
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(EngineTestKit.Start);

    [TearDown]
    public async Task TearDown() => await _nodes.DisposeAsync();

    private Task<SyncNode> StartNodeAsync(SyncNodeOptions options, IAssertionStore? store = null, TimeProvider? time = null) =>
        _nodes.StartAsync(options, store, time ?? _time);

    private static SyncNodeOptions Manual(int id, Action<SyncNodeOptions>? configure = null) =>
        EngineTestKit.Options(id, o =>
        {
            o.RunBackgroundLoops = false;
            configure?.Invoke(o);
        });

    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.NodeId = NodeId.Empty), "NodeId").SetName("Ctor_EmptyNodeId_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.FetchBatchSize = 1001), "FetchBatchSize").SetName("Ctor_FetchBatchAboveProtocolLimit_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.FetchBatchSize = 0), "FetchBatchSize").SetName("Ctor_FetchBatchZero_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.MaxLeavesPerRequest = 10_001), "MaxLeavesPerRequest").SetName("Ctor_LeavesAboveProtocolLimit_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.GossipFanout = -1), "GossipFanout").SetName("Ctor_NegativeFanout_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.GossipQueueCapacity = 0), "GossipQueueCapacity").SetName("Ctor_ZeroQueue_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.GossipConcurrency = 0), "GossipConcurrency").SetName("Ctor_ZeroConcurrency_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.GossipMaxAttempts = 0), "GossipMaxAttempts").SetName("Ctor_ZeroAttempts_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.GossipRetryMaxDelay = TimeSpan.FromMilliseconds(1)), "GossipRetryMaxDelay").SetName("Ctor_MaxDelayBelowBase_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => { o.AntiEntropyInterval = TimeSpan.FromSeconds(1); o.AntiEntropyJitter = TimeSpan.FromSeconds(2); }), "AntiEntropyJitter").SetName("Ctor_JitterAboveInterval_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.AntiEntropyInterval = TimeSpan.Zero), "AntiEntropyInterval").SetName("Ctor_ZeroInterval_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.MaxClockDrift = TimeSpan.FromSeconds(-1)), "MaxClockDrift").SetName("Ctor_NegativeDrift_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.PeerCallTimeout = TimeSpan.Zero), "PeerCallTimeout").SetName("Ctor_ZeroCallTimeout_Throws");
        yield return new TestCaseData((Action<SyncNodeOptions>)(o => o.MaxAssertionBytes = 0), "MaxAssertionBytes").SetName("Ctor_ZeroMaxBytes_Throws");
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void Ctor_InvalidOption_ThrowsNamingTheSetting(Action<SyncNodeOptions> configure, string setting)
    {
        SyncNodeOptions options = EngineTestKit.Options(1, configure);

        var ex = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => _ = new SyncNode(options, new InMemoryAssertionStore()));

        Assert.That(ex!.Message, Does.Contain(setting));
    }

    [Test]
    public void Ctor_DefaultOptions_AreValid()
    {
        Assert.That(() => new SyncNode(new SyncNodeOptions(), new InMemoryAssertionStore()), Throws.Nothing);
    }

    [Test]
    public void IngestAsync_NotStarted_ThrowsInvalidOperation()
    {
        var node = new SyncNode(Manual(1), new InMemoryAssertionStore());
        _nodes.Add(node);

        var ex = Assert.ThrowsAsync<InvalidOperationException>(async () => await node.IngestAsync(EngineTestKit.Data(1)));

        Assert.That(ex!.Message, Does.Contain("StartAsync"));
    }

    [Test]
    public async Task IngestAsync_NewAssertion_StoredIndexedAndStamped()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        byte[] data = EngineTestKit.Data(1);

        IngestResult result = await node.IngestAsync(data);

        Assert.That(result.Added, Is.True);
        Assert.That(result.Hash, Is.EqualTo(AssertionHash.Compute(data)));
        Assert.That(result.Timestamp, Is.EqualTo(new HlcTimestamp((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds(), 0, EngineTestKit.NodeIdFor(1))));
        AssertionRecord? stored = await store.GetAsync(result.Hash);
        Assert.That(stored!.Data.ToArray(), Is.EqualTo(data));
        Assert.That(stored.Timestamp, Is.EqualTo(result.Timestamp));
        Assert.That(node.Count, Is.EqualTo(1));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(new[] { result.Hash })));
    }

    [Test]
    public async Task IngestAsync_SameBytesTwice_SecondNotAddedKeepsFirstTimestamp()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        byte[] data = EngineTestKit.Data(1);

        IngestResult first = await node.IngestAsync(data);
        _time.Advance(TimeSpan.FromSeconds(1));
        IngestResult second = await node.IngestAsync(data);

        Assert.That(second.Added, Is.False);
        Assert.That(second.Hash, Is.EqualTo(first.Hash));
        Assert.That(second.Timestamp, Is.EqualTo(first.Timestamp));
        Assert.That(node.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task IngestAsync_CallerReusesBuffer_StoredBytesUnchanged()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        byte[] data = EngineTestKit.Data(1);
        byte[] original = data.ToArray();

        IngestResult result = await node.IngestAsync(data);
        Array.Clear(data);

        Assert.That((await store.GetAsync(result.Hash))!.Data.ToArray(), Is.EqualTo(original));
    }

    [Test]
    public async Task IngestAsync_StoreKeepsRecordsAndCallerReusesBuffer_StoredBytesUnchanged()
    {
        // Arrange: a host store that keeps the very record objects it is given.
        var store = new RecordKeepingStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        byte[] data = EngineTestKit.Data(1);
        byte[] original = data.ToArray();

        // Act
        IngestResult result = await node.IngestAsync(data);
        Array.Clear(data);

        // Assert
        Assert.That(store.Records[result.Hash].Data.ToArray(), Is.EqualTo(original));
    }

    [Test]
    public async Task IngestAsync_CallerReusesBufferBeforeGossip_PeerGetsOriginalBytes()
    {
        // Arrange: the gossip is sent only after the caller has overwritten its buffer.
        SyncNode node = await StartNodeAsync(Manual(1));
        byte[]? gossiped = null;
        var peer = new FakePeer("p") { OnGossip = (record, _) => { gossiped = record.Data.ToArray(); return GossipResult.Ok; } };
        node.AddPeer(peer);
        byte[] data = EngineTestKit.Data(1);
        byte[] original = data.ToArray();

        // Act
        await node.IngestAsync(data);
        Array.Fill(data, (byte)0xEE);
        await node.PumpGossipOnceAsync();

        // Assert
        Assert.That(gossiped, Is.EqualTo(original));
    }

    [Test]
    public async Task IngestManyAsync_ValidBatch_StoresIndexesAndStampsEachInOrder()
    {
        // Arrange
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 300).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        // Act
        IReadOnlyList<IngestResult> results = await node.IngestManyAsync(batch);

        // Assert
        Assert.That(results, Has.Count.EqualTo(batch.Length));
        for (int i = 0; i < batch.Length; i++)
        {
            Assert.That(results[i].Added, Is.True);
            Assert.That(results[i].Hash, Is.EqualTo(AssertionHash.Compute(batch[i].Span)));
            Assert.That((await store.GetAsync(results[i].Hash))!.Timestamp, Is.EqualTo(results[i].Timestamp));
            if (i > 0)
            {
                Assert.That(results[i].Timestamp, Is.GreaterThan(results[i - 1].Timestamp));
            }
        }

        Assert.That(node.Count, Is.EqualTo(batch.Length));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(results.Select(r => r.Hash))));
    }

    [Test]
    public async Task IngestManyAsync_OneInvalidInTheMiddle_ThrowsWithPositionNothingStored()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new RejectFfValidator()), store);
        byte[][] batch = Enumerable.Range(0, 10).Select(EngineTestKit.Data).ToArray();
        batch[6][0] = 0xFF;

        var ex = Assert.ThrowsAsync<ArgumentException>(async () => await node.IngestManyAsync(batch.Select(b => (ReadOnlyMemory<byte>)b).ToArray()));

        Assert.That(ex!.Message, Does.Contain("Assertion 6 of 10"));
        Assert.That(ex.Message, Does.Contain("first byte 0xFF"));
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
        Assert.That(node.Root, Is.EqualTo(MerkleIndex.EmptyRoot));
    }

    [Test]
    public async Task IngestManyAsync_DuplicatesInBatchAndStore_AddedOnceKeepFirstTimestamp()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        IngestResult earlier = await node.IngestAsync(EngineTestKit.Data(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        ReadOnlyMemory<byte>[] batch = { EngineTestKit.Data(2), EngineTestKit.Data(1), EngineTestKit.Data(2), EngineTestKit.Data(3) };

        IReadOnlyList<IngestResult> results = await node.IngestManyAsync(batch);

        Assert.That(results.Select(r => r.Added), Is.EqualTo(new[] { true, false, false, true }));
        Assert.That(results[1].Timestamp, Is.EqualTo(earlier.Timestamp));
        Assert.That(results[2].Timestamp, Is.EqualTo(results[0].Timestamp));
        Assert.That(node.Count, Is.EqualTo(3));
    }

    [Test]
    public async Task IngestManyAsync_StoreFailsPartWay_StoredOnesStayIndexed()
    {
        // Arrange: the store accepts three puts, then fails.
        var store = new FailingAfterStore(3);
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 8).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        // Act
        Assert.ThrowsAsync<IOException>(async () => await node.IngestManyAsync(batch));

        // Assert: exactly the stored three are in the index.
        Assert.That(await store.CountAsync(), Is.EqualTo(3));
        Assert.That(node.Count, Is.EqualTo(3));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(batch.Take(3).Select(b => AssertionHash.Compute(b.Span)))));
    }

    [Test]
    public async Task IngestManyAsync_StoreCompletesAsynchronously_AllStoredAndIndexedInOrder()
    {
        // Arrange: more assertions than the node keeps in flight, into a store whose puts complete later.
        var store = new AsyncStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 2500).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i % 2400)).ToArray();

        // Act
        IReadOnlyList<IngestResult> results = await node.IngestManyAsync(batch);

        // Assert: the last 100 repeat the first 100 and are not added again.
        Assert.That(results.Take(2400).All(r => r.Added), Is.True);
        Assert.That(results.Skip(2400).Any(r => r.Added), Is.False);
        for (int i = 0; i < batch.Length; i++)
        {
            Assert.That(results[i].Hash, Is.EqualTo(AssertionHash.Compute(batch[i].Span)));
        }

        Assert.That(results.Skip(2400).Select(r => r.Timestamp), Is.EqualTo(results.Take(100).Select(r => r.Timestamp)));
        Assert.That(await store.CountAsync(), Is.EqualTo(2400));
        Assert.That(node.Count, Is.EqualTo(2400));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(results.Select(r => r.Hash).Distinct())));
    }

    [Test]
    public async Task IngestManyAsync_AsyncStoreFailsWithPutsInFlight_ThrowsAndIndexesExactlyTheStored()
    {
        // Arrange: puts complete asynchronously and the 40th fails while others are still in flight.
        var store = new AsyncStore { FailPut = 40 };
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 200).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        // Act
        Assert.ThrowsAsync<IOException>(async () => await node.IngestManyAsync(batch));

        // Assert: everything stored is indexed, and nothing else.
        var storedHashes = new List<AssertionHash>();
        await foreach (AssertionHash hash in store.EnumerateHashesAsync())
        {
            storedHashes.Add(hash);
        }

        Assert.That(storedHashes, Has.Count.EqualTo(199));
        Assert.That(node.Count, Is.EqualTo(199));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(storedHashes)));
    }

    [Test]
    public async Task IngestManyAsync_NullOrStoppedNode_Throws()
    {
        SyncNode node = await StartNodeAsync(Manual(1));

        Assert.ThrowsAsync<ArgumentNullException>(async () => await node.IngestManyAsync(null!));
        await node.StopAsync();
        Assert.ThrowsAsync<InvalidOperationException>(async () => await node.IngestManyAsync(new ReadOnlyMemory<byte>[] { EngineTestKit.Data(1) }));
    }

    [Test]
    public async Task IngestManyAsync_WithPeer_NewAssertionsGossipedWithOwnBytes()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        var gossiped = new List<byte[]>();
        var peer = new FakePeer("p") { OnGossip = (record, _) => { gossiped.Add(record.Data.ToArray()); return GossipResult.Ok; } };
        node.AddPeer(peer);
        byte[][] batch = Enumerable.Range(0, 3).Select(EngineTestKit.Data).ToArray();
        byte[][] originals = batch.Select(b => b.ToArray()).ToArray();

        await node.IngestManyAsync(batch.Select(b => (ReadOnlyMemory<byte>)b).ToArray());
        foreach (byte[] buffer in batch)
        {
            Array.Clear(buffer);
        }

        while (await node.PumpGossipOnceAsync())
        {
        }

        Assert.That(gossiped, Is.EquivalentTo(originals));
    }

    [Test]
    public async Task IngestAsync_InvalidContent_ThrowsWithReasonNothingStored()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new RejectFfValidator()), store);
        byte[] data = EngineTestKit.Data(1);
        data[0] = 0xFF;

        var ex = Assert.ThrowsAsync<ArgumentException>(async () => await node.IngestAsync(data));

        Assert.That(ex!.Message, Does.Contain("first byte 0xFF"));
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task IngestAsync_TooLarge_ThrowsNothingStored()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.MaxAssertionBytes = 10));

        var ex = Assert.ThrowsAsync<ArgumentException>(async () => await node.IngestAsync(new byte[11]));

        Assert.That(ex!.Message, Does.Contain("at most 10 bytes"));
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task StartAsync_StoreHoldsRecords_RebuildsIndex()
    {
        var store = new InMemoryAssertionStore();
        var hashes = new List<AssertionHash>();
        for (int i = 0; i < 50; i++)
        {
            AssertionRecord record = EngineTestKit.Record(i);
            await store.PutAsync(record);
            hashes.Add(record.Hash);
        }

        SyncNode node = await StartNodeAsync(Manual(1), store);

        Assert.That(node.Count, Is.EqualTo(50));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(hashes)));
    }

    [Test]
    public async Task StartAsync_Twice_Throws()
    {
        SyncNode node = await StartNodeAsync(Manual(1));

        Assert.ThrowsAsync<InvalidOperationException>(async () => await node.StartAsync());
    }

    [Test]
    public async Task StopAsync_Running_EndsServingAndIngest()
    {
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1));

        await node.StopAsync();

        Assert.ThrowsAsync<InvalidOperationException>(async () => await node.IngestAsync(EngineTestKit.Data(1)));
        var ex = Assert.ThrowsAsync<SyncRequestException>(async () => await node.Handler.PingAsync(ReadOnlyMemory<byte>.Empty));
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }

    [Test]
    public async Task Ingest_FivePeersFanoutTwo_GossipsToTwoDistinctPeers()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 2));
        FakePeer[] peers = Enumerable.Range(0, 5).Select(i => new FakePeer($"p{i}")).ToArray();
        foreach (FakePeer peer in peers)
        {
            node.AddPeer(peer);
        }

        IngestResult result = await node.IngestAsync(EngineTestKit.Data(1));
        bool pumped = await node.PumpGossipOnceAsync();

        Assert.That(pumped, Is.True);
        Assert.That(peers.Sum(p => p.GossipCalls), Is.EqualTo(2));
        Assert.That(peers.Count(p => p.GossipCalls == 1), Is.EqualTo(2));
        Assert.That(peers.SelectMany(p => p.Gossiped).Select(r => r.Hash), Is.All.EqualTo(result.Hash));
    }

    [Test]
    public async Task ReceivedGossip_NewThenKnown_ForwardedOnlyOnce()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 3));
        var peers = Enumerable.Range(0, 3).Select(i => new FakePeer($"p{i}")).ToArray();
        foreach (FakePeer peer in peers)
        {
            node.AddPeer(peer);
        }

        AssertionRecord record = EngineTestKit.Record(1);
        var message = new GossipMessage(record.Hash.ToArray(), record.Data.ToArray(), record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray());

        GossipResult first = await node.Handler.GossipAsync(message);
        int queuedAfterFirst = node.PendingGossipCount;
        GossipResult second = await node.Handler.GossipAsync(message);
        int queuedAfterSecond = node.PendingGossipCount;
        while (await node.PumpGossipOnceAsync())
        {
        }

        Assert.That(first.Accepted && second.Accepted, Is.True);
        Assert.That(queuedAfterFirst, Is.EqualTo(1));
        Assert.That(queuedAfterSecond, Is.EqualTo(1));
        Assert.That(peers.Select(p => p.GossipCalls), Is.All.EqualTo(1));
    }

    [Test]
    public async Task Ingest_GossipQueueFull_StoresEverythingAndCountsDrops()
    {
        using var dropped = new MetricRecorder("stemedb.sync.gossip.dropped", "reason", "queue_full");
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipQueueCapacity = 2));
        node.AddPeer(new FakePeer("p"));

        for (int i = 0; i < 5; i++)
        {
            await node.IngestAsync(EngineTestKit.Data(i));
        }

        Assert.That(node.Count, Is.EqualTo(5));
        Assert.That(node.PendingGossipCount, Is.EqualTo(2));
        Assert.That(dropped.Total, Is.EqualTo(3));
    }

    [Test]
    public async Task Ingest_NoPeers_NothingQueued()
    {
        SyncNode node = await StartNodeAsync(Manual(1));

        await node.IngestAsync(EngineTestKit.Data(1));

        Assert.That(node.PendingGossipCount, Is.Zero);
    }

    [Test]
    public async Task Gossip_PeerFailsTwice_RetriesWithBackoffThenSucceeds()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o =>
        {
            o.GossipRetryBaseDelay = TimeSpan.FromSeconds(1);
            o.GossipRetryMaxDelay = TimeSpan.FromSeconds(10);
        }));
        var peer = new FakePeer("p")
        {
            OnGossip = (_, attempt) => attempt <= 2 ? throw new SyncPeerException(SyncStatusCode.Unavailable, "down") : GossipResult.Ok,
        };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        Task<bool> pump = node.PumpGossipOnceAsync().AsTask();
        int callsBeforeTime = peer.GossipCalls;
        _time.Advance(TimeSpan.FromMilliseconds(499)); // first retry waits 0.5 s to 1 s
        int callsBeforeBackoff = peer.GossipCalls;
        for (int i = 0; i < 40 && !pump.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.That(callsBeforeTime, Is.EqualTo(1));
        Assert.That(callsBeforeBackoff, Is.EqualTo(1));
        Assert.That(await pump, Is.True);
        Assert.That(peer.GossipCalls, Is.EqualTo(3));
    }

    [Test]
    public async Task Gossip_PeerAlwaysFails_GivesUpAfterMaxAttempts()
    {
        using var dropped = new MetricRecorder("stemedb.sync.gossip.dropped", "reason", "retries_exhausted");
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipMaxAttempts = 3));
        var peer = new FakePeer("p") { OnGossip = (_, _) => throw new SyncPeerException(SyncStatusCode.DeadlineExceeded, "slow") };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        Task<bool> pump = node.PumpGossipOnceAsync().AsTask();
        for (int i = 0; i < 100 && !pump.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        await pump;
        Assert.That(peer.GossipCalls, Is.EqualTo(3));
        Assert.That(dropped.Total, Is.EqualTo(1));
    }

    [TestCase(SyncStatusCode.InvalidArgument)]
    [TestCase(SyncStatusCode.PermissionDenied)]
    [TestCase(SyncStatusCode.Unimplemented)]
    public async Task Gossip_NonRetryableFailure_NotRetried(SyncStatusCode code)
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        var peer = new FakePeer("p") { OnGossip = (_, _) => throw new SyncPeerException(code, "no") };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        await node.PumpGossipOnceAsync();

        Assert.That(peer.GossipCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task Gossip_PeerRejects_NotRetried()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        var peer = new FakePeer("p") { OnGossip = (_, _) => GossipResult.Rejected("invalid content") };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        await node.PumpGossipOnceAsync();

        Assert.That(peer.GossipCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task RemovePeer_Removed_NoLongerGossipedTo()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 5));
        var kept = new FakePeer("kept");
        var removed = new FakePeer("removed");
        node.AddPeer(kept);
        node.AddPeer(removed);

        bool again = node.AddPeer(kept);
        bool wasRemoved = node.RemovePeer(removed);
        bool removedTwice = node.RemovePeer(removed);
        await node.IngestAsync(EngineTestKit.Data(1));
        await node.PumpGossipOnceAsync();

        Assert.That(again, Is.False);
        Assert.That(wasRemoved, Is.True);
        Assert.That(removedTwice, Is.False);
        Assert.That(node.Peers, Is.EqualTo(new ISyncPeer[] { kept }));
        Assert.That(kept.GossipCalls, Is.EqualTo(1));
        Assert.That(removed.GossipCalls, Is.Zero);
    }

    [Test]
    public async Task SyncWithPeerAsync_DivergedNodes_BothHoldTheUnion()
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(Manual(1));
        SyncNode b = await StartNodeAsync(Manual(2));
        network.SetEndpoint("a", a.Handler);
        network.SetEndpoint("b", b.Handler);
        var union = new HashSet<AssertionHash>();
        for (int i = 0; i < 30; i++)
        {
            union.Add((await a.IngestAsync(EngineTestKit.Data(i))).Hash);
        }

        for (int i = 20; i < 50; i++)
        {
            union.Add((await b.IngestAsync(EngineTestKit.Data(i))).Hash);
        }

        SyncPassResult result = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));
        SyncPassResult again = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        Assert.That(result.RootsMatched, Is.False);
        Assert.That(result.Fetched, Is.EqualTo(20));
        Assert.That(result.Pushed, Is.EqualTo(20));
        Assert.That(result.Complete, Is.True);
        Assert.That(result.Rejected, Is.Zero);
        Assert.That(result.BytesReceived, Is.GreaterThan(0));
        Assert.That(a.Count, Is.EqualTo(50));
        Assert.That(b.Count, Is.EqualTo(50));
        Assert.That(a.Root, Is.EqualTo(EngineTestKit.RootOf(union)));
        Assert.That(b.Root, Is.EqualTo(a.Root));
        Assert.That(again.RootsMatched, Is.True);
        Assert.That(again.RoundTrips, Is.EqualTo(1));
    }

    [Test]
    public async Task SyncWithPeerAsync_MoreThanOneFetchBatchMissing_FetchesInBatchesOfAtMostBatchSize()
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(Manual(1));
        SyncNode b = await StartNodeAsync(Manual(2));
        network.SetEndpoint("b", b.Handler);
        for (int i = 0; i < 2500; i++)
        {
            await b.IngestAsync(EngineTestKit.Data(i));
        }

        var peer = new CountingPeer(network.CreatePeer("a", "b"));

        SyncPassResult result = await a.SyncWithPeerAsync(peer);

        Assert.That(result.Fetched, Is.EqualTo(2500));
        Assert.That(peer.FetchCalls, Is.EqualTo(3));
        Assert.That(peer.LargestFetch, Is.EqualTo(1000));
        Assert.That(a.Root, Is.EqualTo(b.Root));
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerAnswersForgedAndFutureRecords_RejectsThemStoresNothing()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        AssertionRecord genuine = EngineTestKit.Record(1);
        AssertionRecord other = EngineTestKit.Record(2);
        ulong tooFar = (ulong)EngineTestKit.Start.ToUnixTimeMilliseconds() + 10_000;
        AssertionRecord future = EngineTestKit.Record(3, new HlcTimestamp(tooFar, 0, EngineTestKit.NodeIdFor(9)));
        var peer = new FakePeer("evil")
        {
            Remote = new RootSummary(EngineTestKit.RootOf(new[] { genuine.Hash, future.Hash }), 2),
            Leaves = new[] { genuine.Hash, future.Hash }.OrderBy(h => h).ToArray(),
            OnFetch = _ => new[]
            {
                new AssertionRecord(genuine.Hash, other.Data, genuine.Timestamp), // bytes do not match the hash
                future, // too far ahead
            },
        };

        SyncPassResult result = await node.SyncWithPeerAsync(peer);

        Assert.That(result.Rejected, Is.EqualTo(2));
        Assert.That(result.Fetched, Is.Zero);
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerAnswersUnrequestedRecord_FailsThePassStoresNothing()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        AssertionRecord genuine = EngineTestKit.Record(1);
        AssertionRecord other = EngineTestKit.Record(2);
        var peer = new FakePeer("evil")
        {
            Remote = new RootSummary(EngineTestKit.RootOf(new[] { genuine.Hash }), 1),
            Leaves = new[] { genuine.Hash },
            OnFetch = _ => new[] { genuine, other }, // other was never asked for
        };

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await node.SyncWithPeerAsync(peer));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerUnreachable_ThrowsSyncPeerExceptionStoresNothing()
    {
        var network = new InMemoryNetwork();
        SyncNode node = await StartNodeAsync(Manual(1));
        network.Disconnect("b");

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await node.SyncWithPeerAsync(network.CreatePeer("a", "b")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task BackgroundGossip_IngestOnOneNode_ReachesTheOther()
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(EngineTestKit.Options(1), time: TimeProvider.System);
        SyncNode b = await StartNodeAsync(EngineTestKit.Options(2), time: TimeProvider.System);
        network.SetEndpoint("a", a.Handler);
        network.SetEndpoint("b", b.Handler);
        a.AddPeer(network.CreatePeer("a", "b"));
        b.AddPeer(network.CreatePeer("b", "a"));

        for (int i = 0; i < 100; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        await EngineTestKit.WaitUntilAsync(() => b.Count == 100, "b holds the 100 assertions ingested on a");
        Assert.That(b.Root, Is.EqualTo(a.Root));
    }

    [Test]
    public async Task BackgroundAntiEntropy_FirstPassWithinTwoSecondsThenEveryInterval_PeerCatchesUp()
    {
        var time = new TimerWatchingTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(EngineTestKit.Options(1, o => o.GossipFanout = 0), time: time);
        for (int i = 0; i < 40; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        SyncNode b = await StartNodeAsync(
            EngineTestKit.Options(2, o =>
            {
                o.GossipFanout = 0;
                o.AntiEntropyInterval = TimeSpan.FromSeconds(10);
                o.AntiEntropyJitter = TimeSpan.FromSeconds(1);
                o.PeerCallTimeout = TimeSpan.FromMinutes(7); // told apart from the loop's waits below
            }),
            time: time);
        network.SetEndpoint("a", a.Handler);
        b.AddPeer(network.CreatePeer("b", "a"));

        // The loop's first wait: within 2 s of AddPeer, not a whole interval.
        TimeSpan first = await time.NextTimerAsync(due => due != TimeSpan.FromMinutes(7));
        Assert.That(first, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(b.Count, Is.Zero);
        time.Advance(first);
        await EngineTestKit.WaitUntilAsync(() => b.Count == 40, "the first pass brought b up to date");

        // The next wait is the interval ± jitter.
        await a.IngestAsync(EngineTestKit.Data(40));
        TimeSpan next = await time.NextTimerAsync(due => due != TimeSpan.FromMinutes(7));
        Assert.That(next, Is.InRange(TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(11)));
        time.Advance(next);
        await EngineTestKit.WaitUntilAsync(() => b.Count == 41, "the next pass brought b up to date");
        Assert.That(b.Root, Is.EqualTo(a.Root));
    }

    [Test]
    public async Task Ingest_Counted_InIngestedMetric()
    {
        using var ingested = new MetricRecorder("stemedb.sync.ingested");
        SyncNode node = await StartNodeAsync(Manual(1));

        await node.IngestAsync(EngineTestKit.Data(1));
        await node.IngestAsync(EngineTestKit.Data(2));
        await node.IngestAsync(EngineTestKit.Data(1));

        Assert.That(ingested.Total, Is.EqualTo(2));
    }

    [Test]
    public async Task RetryDelay_Attempts_GrowsExponentiallyWithinJitterAndCap()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o =>
        {
            o.GossipRetryBaseDelay = TimeSpan.FromMilliseconds(100);
            o.GossipRetryMaxDelay = TimeSpan.FromMilliseconds(1000);
        }));

        for (int trial = 0; trial < 50; trial++)
        {
            Assert.That(node.RetryDelay(1).TotalMilliseconds, Is.InRange(50, 100));
            Assert.That(node.RetryDelay(2).TotalMilliseconds, Is.InRange(100, 200));
            Assert.That(node.RetryDelay(3).TotalMilliseconds, Is.InRange(200, 400));
            Assert.That(node.RetryDelay(10).TotalMilliseconds, Is.InRange(500, 1000));
        }
    }

    /// <summary>A host store over the in-memory one: everything forwards, and subclasses change how puts behave.</summary>
    private abstract class ForwardingStore : IAssertionStore
    {
        protected InMemoryAssertionStore Inner { get; } = new();

        public abstract ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default);

        public ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default) => Inner.GetAsync(hash, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
            Inner.GetManyAsync(hashes, cancellationToken);

        public ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default) => Inner.ContainsAsync(hash, cancellationToken);

        public ValueTask<long> CountAsync(CancellationToken cancellationToken = default) => Inner.CountAsync(cancellationToken);

        public IAsyncEnumerable<AssertionHash> EnumerateHashesAsync(CancellationToken cancellationToken = default) => Inner.EnumerateHashesAsync(cancellationToken);
    }

    /// <summary>Also keeps every record object it was given, as some host stores do.</summary>
    private sealed class RecordKeepingStore : ForwardingStore
    {
        public ConcurrentDictionary<AssertionHash, AssertionRecord> Records { get; } = new();

        public override ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
        {
            Records.TryAdd(record.Hash, record);
            return Inner.PutAsync(record, cancellationToken);
        }
    }

    /// <summary>Puts fail after a number of successful ones.</summary>
    private sealed class FailingAfterStore : ForwardingStore
    {
        private int _putsLeft;

        public FailingAfterStore(int puts) => _putsLeft = puts;

        public override ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default) =>
            Interlocked.Decrement(ref _putsLeft) < 0 ? throw new IOException("disk full") : Inner.PutAsync(record, cancellationToken);
    }

    /// <summary>Puts complete asynchronously; one put (1-based) can be made to fail.</summary>
    private sealed class AsyncStore : ForwardingStore
    {
        private int _puts;

        public int FailPut { get; init; }

        public override async ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
        {
            int put = Interlocked.Increment(ref _puts);
            await Task.Yield();
            if (put == FailPut)
            {
                throw new IOException("disk full");
            }

            return await Inner.PutAsync(record, cancellationToken);
        }
    }
}

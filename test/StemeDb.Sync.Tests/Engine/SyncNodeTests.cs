using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>The facade: options, lifecycle and the peer list.</summary>
[TestFixture]
public sealed class SyncNodeTests : NodeTestBase
{
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
        Nodes.Add(node);

        var ex = Assert.ThrowsAsync<InvalidOperationException>(async () => await node.IngestAsync(EngineTestKit.Data(1)));

        Assert.That(ex!.Message, Does.Contain("StartAsync"));
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
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>Engine nodes replicating over real gRPC (Kestrel on 127.0.0.1, HTTP/2 cleartext).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class IntegrationTests
{
    private static void GossipOnly(SyncNodeOptions options)
    {
        options.AntiEntropyInterval = Timeout.InfiniteTimeSpan;
        options.GossipRetryBaseDelay = TimeSpan.FromMilliseconds(20);
        // With no anti-entropy to catch up, gossip alone must outlast a peer restart on a loaded machine:
        // about 4 s of retries (20 ms doubling, capped at 1 s) instead of the default four attempts.
        options.GossipRetryMaxDelay = TimeSpan.FromSeconds(1);
        options.GossipMaxAttempts = 10;
    }

    private static void AntiEntropyOnly(SyncNodeOptions options)
    {
        options.GossipFanout = 0;
        options.AntiEntropyInterval = Timeout.InfiniteTimeSpan;
        options.FetchBatchSize = 50;
    }

    private static async Task IngestAsync(SyncNode node, string prefix, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await node.IngestAsync(Records.Create($"{prefix}-{i}").Data);
        }
    }

    [Test]
    public async Task Gossip_TwoNodes_Converge()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(2, GossipOnly);

        await IngestAsync(cluster[0], "a", 100);
        await IngestAsync(cluster[1], "b", 50);

        await cluster.WaitForConvergenceAsync(150);
    }

    [Test]
    public async Task Gossip_ThreeNodes_Converge()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(3, GossipOnly);

        await Task.WhenAll(
            IngestAsync(cluster[0], "a", 60),
            IngestAsync(cluster[1], "b", 60),
            IngestAsync(cluster[2], "c", 60));

        await cluster.WaitForConvergenceAsync(180);
    }

    [Test]
    public async Task AntiEntropy_TwoNodes_OnePassConverges()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(2, AntiEntropyOnly, connect: false);
        await IngestAsync(cluster[0], "a", 120);
        await IngestAsync(cluster[1], "b", 80);

        SyncPassResult pass = await cluster[0].SyncWithPeerAsync(cluster.Peer(0, 1));

        Assert.That(pass.RootsMatched, Is.False);
        Assert.That(pass.Fetched, Is.EqualTo(80));
        Assert.That(pass.Pushed, Is.EqualTo(120));
        Assert.That(pass.Complete, Is.True);
        await cluster.WaitForConvergenceAsync(200);
        SyncPassResult again = await cluster[1].SyncWithPeerAsync(cluster.Peer(1, 0));
        Assert.That(again.RootsMatched, Is.True);
    }

    [Test]
    public async Task AntiEntropy_ThreeNodesBackgroundLoops_Converge()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(3, options =>
        {
            options.GossipFanout = 0;
            options.AntiEntropyInterval = TimeSpan.FromMilliseconds(150);
            options.AntiEntropyJitter = TimeSpan.FromMilliseconds(50);
        });

        await IngestAsync(cluster[0], "a", 40);
        await IngestAsync(cluster[1], "b", 30);
        await IngestAsync(cluster[2], "c", 20);

        await cluster.WaitForConvergenceAsync(90);
    }

    [Test]
    public async Task Restart_NodeKilledMidSync_CatchesUpAfterRestart()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(2, AntiEntropyOnly, connect: false);
        await IngestAsync(cluster[0], "a", 5000);

        // Node 1 pulls from node 0 in batches of 50; its second fetch is held until node 1 has been killed, so the kill
        // lands mid-sync whatever the machine's speed.
        var gated = new SecondFetchGate(cluster.Peer(1, 0));
        Task<SyncPassResult> pass = cluster[1].SyncWithPeerAsync(gated).AsTask();
        await gated.SecondFetchStarted.WaitAsync(TestContext.CurrentContext.CancellationToken);

        await cluster.KillAsync(1);
        Assert.CatchAsync<Exception>(async () => await pass);
        await cluster.RestartAsync(1);
        long afterRestart = cluster[1].Count;
        SyncPassResult catchUp = await cluster[1].SyncWithPeerAsync(cluster.Peer(1, 0));

        Assert.That(afterRestart, Is.EqualTo(50), "the node was killed mid-sync and kept the one batch it had stored");
        Assert.That(catchUp.Fetched, Is.EqualTo(5000 - afterRestart));
        await cluster.WaitForConvergenceAsync(5000);
    }

    [Test]
    public async Task Restart_PeerRestartsOnSamePort_GossipResumes()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(2, GossipOnly);
        await IngestAsync(cluster[0], "before", 10);
        await cluster.WaitForConvergenceAsync(10);

        await cluster.KillAsync(1);
        await cluster.RestartAsync(1);
        await IngestAsync(cluster[0], "after", 10);

        await cluster.WaitForConvergenceAsync(20);
    }

    [Test]
    public async Task SyncWithPeer_Cancelled_ThrowsOperationCanceled()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(2, AntiEntropyOnly, connect: false);
        await IngestAsync(cluster[0], "a", 10);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(async () => await cluster[1].SyncWithPeerAsync(cluster.Peer(1, 0), cts.Token));
        Assert.That(cluster[1].Count, Is.Zero);
    }

    [Test]
    public async Task Ping_OverGrpc_ReturnsNodeIdAndCount()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(2, AntiEntropyOnly, connect: false);
        await IngestAsync(cluster[0], "a", 7);

        PingResult ping = await cluster.Peer(1, 0).PingAsync(cluster[1].NodeId);

        Assert.That(ping, Is.EqualTo(new PingResult(cluster[0].NodeId, 7)));
    }

    /// <summary>A peer whose second fetch waits until the caller's token is cancelled (the node is stopped).</summary>
    private sealed class SecondFetchGate(ISyncPeer inner) : ISyncPeer
    {
        private readonly TaskCompletionSource _secondFetch = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _fetches;

        public Task SecondFetchStarted => _secondFetch.Task;

        public string Name => inner.Name;

        public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _fetches) == 2)
            {
                _secondFetch.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await inner.FetchAsync(hashes, cancellationToken);
        }

        public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default) =>
            inner.GossipAsync(record, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
            inner.ExchangeRootsAsync(local, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
            inner.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
            inner.PingAsync(self, cancellationToken);
    }
}

using System;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Tests.Engine;

using StemeDb.Sync.Tests.Shared;

namespace StemeDb.Sync.Tests.Reconciliation;

[TestFixture]
[CancelAfter(60_000)]
public class LiveGossipBatchTests
{
    [TestCase(true, TestName = "Gossip_BacklogWithBatchPeer_SentInBatches")]
    [TestCase(false, TestName = "Gossip_BacklogWithV1Peer_FallsBackToUnaryAndDeliversAll")]
    public async Task Gossip_Backlog_DeliversEverything(bool peerHasBatch, CancellationToken cancellationToken)
    {
        // Arrange: one gossip worker; the receiver holds the first unary push until 600 more assertions are queued.
        await using var b = new SyncNode(EngineTestKit.Options(2, o => o.GossipFanout = 0), new InMemoryAssertionStore());
        await b.StartAsync(cancellationToken);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var atB = new SignallingHandler(b.Handler);
        var peer = new HandlerPeer(atB)
        {
            Batch = peerHasBatch,
            BeforeGossip = () =>
            {
                held.TrySetResult();
                return release.Task;
            },
        };
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.GossipConcurrency = 1), new InMemoryAssertionStore());
        await a.StartAsync(cancellationToken);
        a.AddPeer(peer);

        // Act
        await a.IngestAsync(EngineTestKit.Data(0), cancellationToken);
        await held.Task.WaitAsync(cancellationToken); // the first push is held
        for (int i = 1; i <= 600; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i), cancellationToken);
        }

        release.SetResult();
        await atB.WaitUntilAsync(() => b.Count == 601, cancellationToken); // checked after each push b answers

        // Assert
        Assert.That(b.Root, Is.EqualTo(a.Root));
        if (peerHasBatch)
        {
            Assert.That(peer.BatchCalls, Is.EqualTo(3), "600 queued assertions in batches of at most 256");
            Assert.That(peer.GossipCalls, Is.EqualTo(1));
        }
        else
        {
            Assert.That(peer.BatchCalls, Is.EqualTo(1), "one refused batch, remembered");
            Assert.That(peer.GossipCalls, Is.EqualTo(601));
        }
    }
}

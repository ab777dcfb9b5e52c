using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Reconciliation;

[TestFixture]
[CancelAfter(120_000)]
public class ExtensionEngineTests
{
    private const int Shared = 10_500;

    [Test]
    public async Task SyncWithPeer_ExtensionPeerBeyondV1Limit_ConvergesInOnePassWithReconcile(CancellationToken cancellationToken)
    {
        // Arrange: both hold 10,500 shared assertions, each has 300 of its own.
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(Shared, 300, 300, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler);

            // Act
            SyncPassResult pass = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert
            Assert.That(pass.Complete, Is.True);
            Assert.That(pass.Fetched, Is.EqualTo(300));
            Assert.That(pass.Pushed, Is.EqualTo(300));
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(a.Count, Is.EqualTo(Shared + 600));
            Assert.That(peer.ReconcileCalls, Is.InRange(1, 4));
            Assert.That(peer.LeavesCalls, Is.Zero, "no leaf list was needed");
            Assert.That(peer.BatchCalls, Is.EqualTo(1), "300 pushes in one batch");
            Assert.That(peer.GossipCalls, Is.Zero);
        }
    }

    [Test]
    public async Task SyncWithPeer_PeerOnAnotherRootVersion_ConvergesByReconcileThenStopsEarly(CancellationToken cancellationToken)
    {
        // Arrange: the peer reports roots of another root version (here: BLAKE3 of its root), which never match ours.
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(2_000, 30, 40, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { OtherRootVersion = root => AssertionHash.Compute(root.ToArray()) };

            // Act: one pass to converge, a second that finds the sets equal, a third with nothing changed since.
            SyncPassResult first = await a.SyncWithPeerAsync(peer, cancellationToken);
            SyncPassResult second = await a.SyncWithPeerAsync(peer, cancellationToken);
            SyncPassResult third = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert: the same set on both sides, found by range fingerprints; then the pass stops at the roots.
            Assert.That(first is { Complete: true, Fetched: 40, Pushed: 30, RootsMatched: false }, Is.True, first.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(a.Count, Is.EqualTo(2_070));
            Assert.That(second is { Complete: true, Unchanged: false, Fetched: 0, Pushed: 0 }, Is.True, second.ToString());
            Assert.That(third is { Unchanged: true, Fetched: 0, Pushed: 0, RoundTrips: 1 }, Is.True, third.ToString());
            Assert.That(peer.LeavesCalls, Is.Zero, "Reconcile found the differences; no leaf list was needed");
        }
    }

    [Test]
    public async Task SyncWithPeer_PeerWithPagingButNoReconcile_ConvergesBeyondV1LimitByPaging(CancellationToken cancellationToken)
    {
        // Arrange
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(Shared, 0, 40, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { Reconcile = false };

            // Act
            SyncPassResult first = await a.SyncWithPeerAsync(peer, cancellationToken);
            await b.IngestAsync(EngineTestKit.Data(999_999), cancellationToken);
            SyncPassResult second = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert
            Assert.That(first.Complete, Is.True);
            Assert.That(first.Fetched, Is.EqualTo(40));
            Assert.That(second.Fetched, Is.EqualTo(1));
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(peer.ReconcileCalls, Is.EqualTo(1), "the missing extension is remembered for the peer");
            Assert.That(peer.LeavesCalls, Is.EqualTo(4), "two pages of 10,000 per pass");
        }
    }

    [Test]
    public async Task SyncWithPeer_V1OnlyPeer_FallsBackAndConvergesUpToTheV1Limit(CancellationToken cancellationToken)
    {
        // Arrange: the peer holds more than 10,000 leaves and ignores the cursor.
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(Shared, 20, 40, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { Reconcile = false, Paging = false, Batch = false };
            IReadOnlyList<AssertionHash> firstPage = (await b.Handler.GetLeavesAsync(0, cancellationToken)).Leaves;
            AssertionHash limit = firstPage[^1];
            var aBefore = new HashSet<AssertionHash>(a.Index.GetLeaves(null, int.MaxValue));
            var bBefore = new HashSet<AssertionHash>(b.Index.GetLeaves(null, int.MaxValue));

            // Act
            SyncPassResult pass = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert: everything up to the last leaf of the one v1 page is reconciled, nothing beyond.
            Assert.That(pass.Complete, Is.False);
            Assert.That(peer.BatchCalls, Is.EqualTo(pass.Pushed > 0 ? 1 : 0), "one refused batch, then unary pushes");
            Assert.That(peer.GossipCalls, Is.EqualTo(pass.Pushed));
            IReadOnlyList<AssertionHash> aLeaves = a.Index.GetLeaves(null, int.MaxValue);
            IReadOnlyList<AssertionHash> bLeaves = b.Index.GetLeaves(null, int.MaxValue);
            Assert.That(aLeaves.Where(h => h <= limit), Is.EqualTo(bLeaves.Where(h => h <= limit)));
            Assert.That(pass.Fetched, Is.EqualTo(bBefore.Count(h => h <= limit && !aBefore.Contains(h))));
            Assert.That(pass.Pushed, Is.EqualTo(aBefore.Count(h => h < limit && !bBefore.Contains(h))));
            Assert.That(pass.Fetched + pass.Pushed, Is.GreaterThan(0));
            Assert.That(peer.LeavesCalls, Is.EqualTo(2), "the ignored cursor is detected on the second page");
        }
    }

    [Test]
    public async Task PushAsync_SlowReceiver_SenderWaitsWithAtMostTwoBatchesInFlight(CancellationToken cancellationToken)
    {
        // Arrange: 3,500 assertions to push; the receiver holds every batch until released.
        var store = new InMemoryAssertionStore();
        var hashes = new List<AssertionHash>();
        for (int i = 0; i < 3_500; i++)
        {
            AssertionRecord record = EngineTestKit.Record(i);
            await store.PutAsync(record, cancellationToken);
            hashes.Add(record.Hash);
        }

        var peer = new GatedBatchPeer();

        // Act
        ValueTask<PushOutcome> push = BulkPush.PushAsync(
            store, new PeerCalls(peer, TimeSpan.FromMinutes(1), TimeProvider.System), hashes, null, cancellationToken);
        await peer.WaitForCallsAsync(1, cancellationToken);
        peer.Release(1);
        await peer.WaitForCallsAsync(3, cancellationToken);
        peer.Release(100);
        PushOutcome outcome = await push;

        // Assert: each call records how many answers the sender had seen when it started (no sleeps: the order of
        // events decides).
        Assert.That(peer.AnsweredAtStart, Has.Count.EqualTo(4));
        Assert.That(peer.AnsweredAtStart[1], Is.GreaterThanOrEqualTo(1), "the first batch goes alone until the peer shows it has the extension");
        Assert.That(peer.AnsweredAtStart[2], Is.EqualTo(1), "then two batches travel together");
        Assert.That(peer.AnsweredAtStart[3], Is.GreaterThanOrEqualTo(2), "with two batches held, the sender waits");
        Assert.That(peer.MaxInFlight, Is.LessThanOrEqualTo(BulkPush.PushWindow));
        Assert.That(peer.Received, Is.EqualTo(3_500));
        Assert.That(outcome.Pushed, Is.EqualTo(3_500));
        Assert.That(outcome.Calls, Is.EqualTo(4));
    }

    [Test]
    public async Task HandlerGetLeaves_CursorOfWrongLength_IsInvalidArgument(CancellationToken cancellationToken)
    {
        await using var node = new SyncNode(EngineTestKit.Options(3), new InMemoryAssertionStore());
        await node.StartAsync(cancellationToken);

        SyncRequestException? ex = Assert.ThrowsAsync<SyncRequestException>(async () =>
            await node.Handler.GetLeavesAsync(10, new byte[31], cancellationToken));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("start_after"));
    }

    [Test]
    public async Task HandlerGetLeaves_Cursor_ReturnsLeavesStrictlyAfterIt(CancellationToken cancellationToken)
    {
        await using var node = new SyncNode(EngineTestKit.Options(4), new InMemoryAssertionStore());
        await node.StartAsync(cancellationToken);
        for (int i = 0; i < 30; i++)
        {
            await node.IngestAsync(EngineTestKit.Data(i), cancellationToken);
        }

        IReadOnlyList<AssertionHash> all = (await node.Handler.GetLeavesAsync(0, cancellationToken)).Leaves;

        LeavesPage page = await node.Handler.GetLeavesAsync(10, all[9].ToArray(), cancellationToken);

        Assert.That(page.Leaves, Is.EqualTo(all.Skip(10).Take(10)));
        Assert.That(page.Truncated, Is.True);
    }

    /// <summary>A receiver that answers a batch only when released, and tracks calls in flight.</summary>
    private sealed class GatedBatchPeer : ISyncPeer
    {
        private readonly SemaphoreSlim _gate = new(0);
        private int _started;
        private int _inFlight;
        private int _maxInFlight;
        private int _received;
        private int _answered;
        private readonly List<int> _answeredAtStart = new();

        public string Name => "gated";

        /// <summary>For each call in the order they started, how many calls had been answered by then.</summary>
        public IReadOnlyList<int> AnsweredAtStart
        {
            get
            {
                lock (_answeredAtStart)
                {
                    return _answeredAtStart.ToArray();
                }
            }
        }

        public int Started => Volatile.Read(ref _started);

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public int Received => Volatile.Read(ref _received);

        public void Release(int count) => _gate.Release(count);

        public async Task WaitForCallsAsync(int count, CancellationToken cancellationToken)
        {
            while (Started < count)
            {
                await Task.Delay(5, cancellationToken);
            }
        }

        public async ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default)
        {
            lock (_answeredAtStart)
            {
                _answeredAtStart.Add(Volatile.Read(ref _answered));
            }

            Interlocked.Increment(ref _started);
            int now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }

            await _gate.WaitAsync(cancellationToken);
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Add(ref _received, records.Count);
            Interlocked.Increment(ref _answered);
            return records.Select(_ => GossipResult.Ok).ToArray();
        }

        public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}

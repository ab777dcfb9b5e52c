using System;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Reconciliation;

/// <summary>The engine's use of ReconcileSymbols: first choice, and the fallbacks when a peer lacks it or cannot serve it.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class SymbolsEngineTests
{
    [Test]
    public async Task SyncWithPeer_PeerWithSymbols_ConvergesByReconcileSymbolsAlone(CancellationToken cancellationToken)
    {
        // Arrange
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(2_000, 30, 40, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { Symbols = true };

            // Act
            SyncPassResult pass = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert
            Assert.That(pass is { Complete: true, Fetched: 40, Pushed: 30 }, Is.True, pass.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(a.Count, Is.EqualTo(2_070));
            Assert.That(peer.SymbolsOpened, Is.EqualTo(1));
            Assert.That(peer.SymbolsExchanges, Is.GreaterThanOrEqualTo(1));
            Assert.That(peer.ReconcileCalls, Is.Zero, "the symbols found the difference");
            Assert.That(peer.LeavesCalls, Is.Zero, "no leaf list was needed");
            Assert.That(a.Index.KeepsSymbols && b.Index.KeepsSymbols, Is.True, "both sides keep their symbols from now on");
        }
    }

    [Test]
    public async Task SyncWithPeer_SymbolsThatNeverDecodeAnsweredSlowly_StopAtTheOverallDeadlineAndReconcileTakesOver(CancellationToken cancellationToken)
    {
        // Arrange: every answer comes 25 s after its request (within the 30 s per-call deadline) and never decodes
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(EngineTestKit.Start);
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(500, 3, 4, cancellationToken, time);
        await using (a)
        await using (b)
        {
            var asks = System.Threading.Channels.Channel.CreateUnbounded<TaskCompletionSource>();
            var peer = new HandlerPeer(b.Handler)
            {
                Symbols = true,
                BeforeSymbols = async token =>
                {
                    var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    await asks.Writer.WriteAsync(answer, token);
                    await answer.Task.WaitAsync(token);
                },
                TamperSymbols = (request, response) => response with { Symbols = new byte[request.Count * 37] },
            };

            // Act
            Task<SyncPassResult> pass = a.SyncWithPeerAsync(peer, cancellationToken).AsTask();
            while (true)
            {
                Task<TaskCompletionSource> ask = asks.Reader.ReadAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(ask, pass) == pass)
                {
                    break;
                }

                time.Advance(TimeSpan.FromSeconds(25));
                (await ask).TrySetResult();
            }

            SyncPassResult result = await pass;

            // Assert
            Assert.That(peer.SymbolsExchanges, Is.EqualTo(3), "two answers within the 60 s overall deadline; the third wait passes it");
            Assert.That(peer.ReconcileCalls, Is.GreaterThanOrEqualTo(1), "Reconcile took over for the pass");
            Assert.That(result is { Complete: true, Fetched: 4, Pushed: 3 }, Is.True, result.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
        }
    }

    [Test]
    public async Task SyncWithPeer_DifferenceBeyondTheKeptCeiling_BothSidesExtendAndDecodeBySymbols(CancellationToken cancellationToken)
    {
        // Arrange: 700 differences need about 1,000 symbols; both sides keep at most 512 until a reader needs more
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(10_000, 300, 400, cancellationToken);
        await using (a)
        await using (b)
        {
            a.Index.SymbolsGrowLength = 512;
            b.Index.SymbolsGrowLength = 512;
            var peer = new HandlerPeer(b.Handler) { Symbols = true };

            // Act
            SyncPassResult pass = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert
            Assert.That(pass is { Complete: true, Fetched: 400, Pushed: 300 }, Is.True, pass.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(peer.ReconcileCalls, Is.Zero, "the symbols found the difference");
            Assert.That(peer.LeavesCalls, Is.Zero);
            Assert.That(a.Index.SketchLength, Is.GreaterThan(512), "the initiator extended its own symbols");
            Assert.That(b.Index.SketchLength, Is.GreaterThan(512), "the responder extended its symbols for the request");
        }
    }

    [Test]
    public async Task SyncWithPeer_PeerOfEarlierVersion_FallsBackToReconcileAndStopsAsking(CancellationToken cancellationToken)
    {
        // Arrange: a peer with Reconcile but without ReconcileSymbols
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(2_000, 5, 7, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { Symbols = false };

            // Act: two passes, the peer taking a new assertion in between
            SyncPassResult first = await a.SyncWithPeerAsync(peer, cancellationToken);
            await b.IngestAsync(EngineTestKit.Data(3_000_000), cancellationToken);
            SyncPassResult second = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert
            Assert.That(first is { Complete: true, Fetched: 7, Pushed: 5 }, Is.True, first.ToString());
            Assert.That(second is { Complete: true, Fetched: 1, Pushed: 0 }, Is.True, second.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(peer.SymbolsOpened, Is.EqualTo(1), "UNIMPLEMENTED is learned once");
            Assert.That(peer.ReconcileCalls, Is.GreaterThanOrEqualTo(2));
        }
    }

    [Test]
    public async Task SyncWithPeer_CountsTooFarApartForTheSymbols_SkipsThemForThatPassOnly(CancellationToken cancellationToken)
    {
        // Arrange: the peer holds 2,000 more assertions than this node, more than the symbols it keeps can decode
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(100, 0, 2_000, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { Symbols = true };

            // Act
            SyncPassResult first = await a.SyncWithPeerAsync(peer, cancellationToken);
            int openedAfterFirst = peer.SymbolsOpened;
            int reconcileAfterFirst = peer.ReconcileCalls;
            await b.IngestAsync(EngineTestKit.Data(3_000_000), cancellationToken);
            SyncPassResult second = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert: the first pass did not ask for symbols (nor start keeping them here); the second used them
            Assert.That(first is { Complete: true, Fetched: 2_000 }, Is.True, first.ToString());
            Assert.That(openedAfterFirst, Is.Zero);
            Assert.That(second is { Complete: true, Fetched: 1 }, Is.True, second.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(peer.SymbolsOpened, Is.EqualTo(1));
            Assert.That(peer.ReconcileCalls, Is.EqualTo(reconcileAfterFirst), "the second pass needed no Reconcile");
        }
    }

    [Test]
    public async Task SyncWithPeer_EqualCountsDifferenceBeyondThePeersKeptSymbols_FallsBackForThatPassOnly(CancellationToken cancellationToken)
    {
        // Arrange: 1,000 assertions of its own on each side, equal counts, far more differences than 1,100 assertions'
        // kept symbols decode
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(100, 1_000, 1_000, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler) { Symbols = true };

            // Act
            SyncPassResult first = await a.SyncWithPeerAsync(peer, cancellationToken);
            int reconcileAfterFirst = peer.ReconcileCalls;
            int leavesAfterFirst = peer.LeavesCalls;
            await b.IngestAsync(EngineTestKit.Data(3_000_000), cancellationToken);
            SyncPassResult second = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert: the symbols were refused past those kept, another method converged, and the next pass tried them again
            Assert.That(first is { Complete: true, Fetched: 1_000, Pushed: 1_000 }, Is.True, first.ToString());
            Assert.That(reconcileAfterFirst + leavesAfterFirst, Is.GreaterThan(0));
            Assert.That(second is { Complete: true, Fetched: 1 }, Is.True, second.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(peer.SymbolsOpened, Is.EqualTo(2));
            Assert.That(peer.ReconcileCalls, Is.EqualTo(reconcileAfterFirst), "the second pass needed no Reconcile");
            Assert.That(peer.LeavesCalls, Is.EqualTo(leavesAfterFirst));
        }
    }

    [TestCase("truncated symbols")]
    [TestCase("another snapshot")]
    public async Task SyncWithPeer_SymbolsOutsideTheProtocol_FallsBackAndStopsAsking(string tampering, CancellationToken cancellationToken)
    {
        // Arrange
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(1_000, 3, 4, cancellationToken);
        await using (a)
        await using (b)
        {
            var peer = new HandlerPeer(b.Handler)
            {
                Symbols = true,
                TamperSymbols = (request, response) => tampering == "truncated symbols"
                    ? response with { Symbols = response.Symbols[..^1] }
                    : response with { Snapshot = response.Snapshot + 1 + request.Start },
            };

            // Act
            SyncPassResult first = await a.SyncWithPeerAsync(peer, cancellationToken);
            SyncPassResult second = await a.SyncWithPeerAsync(peer, cancellationToken);

            // Assert: converged by Reconcile; the symbols were not asked for again
            Assert.That(first is { Complete: true, Fetched: 4, Pushed: 3 }, Is.True, first.ToString());
            Assert.That(second.Complete, Is.True, second.ToString());
            Assert.That(a.Root, Is.EqualTo(b.Root));
            Assert.That(peer.SymbolsOpened, Is.EqualTo(1));
            Assert.That(peer.ReconcileCalls, Is.GreaterThanOrEqualTo(1));
        }
    }

    [Test]
    public async Task SyncWithPeer_SymbolsTurnedOff_NeitherAsksNorServesNorKeepsThem(CancellationToken cancellationToken)
    {
        // Arrange: node a with ReconcileSymbols off, node b with them on
        var a = new SyncNode(EngineTestKit.Options(1, o => o.ReconcileSymbols = false), new InMemoryAssertionStore());
        var b = new SyncNode(EngineTestKit.Options(2), new InMemoryAssertionStore());
        await using (a)
        await using (b)
        {
            await a.StartAsync(cancellationToken);
            await b.StartAsync(cancellationToken);
            for (int i = 0; i < 50; i++)
            {
                await b.IngestAsync(EngineTestKit.Data(i), cancellationToken);
            }

            var peer = new HandlerPeer(b.Handler) { Symbols = true };

            // Act
            SyncPassResult pass = await a.SyncWithPeerAsync(peer, cancellationToken);
            SyncRequestException? refused = Assert.ThrowsAsync<SyncRequestException>(
                async () => await a.Handler.ReconcileSymbolsAsync(new ReconcileSymbolsRequest(1, 0, 6, 0), cancellationToken));

            // Assert
            Assert.That(pass is { Complete: true, Fetched: 50 }, Is.True, pass.ToString());
            Assert.That(peer.SymbolsOpened, Is.Zero);
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unimplemented));
            Assert.That(a.Index.KeepsSymbols, Is.False, "no symbols kept, so ingest pays nothing for them");
            Assert.That(b.Index.KeepsSymbols, Is.False);
        }
    }

    [Test]
    public async Task Handler_RequestPastTheKeptSymbols_IsResourceExhaustedAndChangesNothing(CancellationToken cancellationToken)
    {
        // Arrange: 300 assertions, so the minimum of 256 symbols is kept
        (SyncNode a, SyncNode b) = await EngineTestKit.TwoNodesAsync(300, 0, 0, cancellationToken);
        await using (a)
        await using (b)
        {
            AssertionHash root = b.Root;

            // Act
            SyncRequestException? ex = Assert.ThrowsAsync<SyncRequestException>(
                async () => await b.Handler.ReconcileSymbolsAsync(new ReconcileSymbolsRequest(1, 200, 100, 0), cancellationToken));
            ReconcileSymbolsResponse inside = await b.Handler.ReconcileSymbolsAsync(new ReconcileSymbolsRequest(1, 0, 256, 0), cancellationToken);

            // Assert
            Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
            Assert.That(ex.Message, Does.Contain("first 256 symbols"));
            Assert.That(inside.AssertionCount, Is.EqualTo(300));
            Assert.That(b.Root, Is.EqualTo(root));
        }
    }
}

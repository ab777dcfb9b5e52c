using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Moq;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// The node's status (<see cref="SyncNode.GetStatus"/>, <see cref="SyncNode.PeerStatusChanged"/>), the instruments that
/// follow it (gauges, pass durations, replication delays) and the lines a pass logs at Information.
/// </summary>
[TestFixture]
public sealed class NodeStatusTests
{
    [Test]
    public async Task GetStatus_BeforeAnyPass_PeerUnknownAndNodeFiguresCurrent()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        await using SyncNode a = await StartedAsync(1, time);
        await a.IngestAsync(EngineTestKit.Data(1));
        a.AddPeer(network.CreatePeer("a", "b"));

        SyncNodeStatus status = a.GetStatus();

        Assert.That(status.NodeId, Is.EqualTo(a.NodeId));
        Assert.That(status.Count, Is.EqualTo(1));
        Assert.That(status.Root, Is.EqualTo(a.Root));
        Assert.That(status.At, Is.EqualTo(EngineTestKit.Start));
        SyncPeerStatus peer = status.Peers.Single();
        Assert.That(peer.Name, Is.EqualTo("b"));
        Assert.That(peer.State, Is.EqualTo(SyncPeerState.Unknown));
        Assert.That(peer.LastPassAt, Is.Null);
        Assert.That(peer.RemoteCount, Is.Null);
        Assert.That(peer.Extensions, Is.EqualTo(SyncExtensions.PagedLeaves | SyncExtensions.Reconcile | SyncExtensions.ReconcileSymbols
            | SyncExtensions.GossipBatch | SyncExtensions.StreamAssertions | SyncExtensions.Broadcast));
    }

    [Test]
    public async Task GetStatus_AfterCatchingUp_InSyncWithNothingMissingAndTheEventSaysSo()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        await using SyncNode a = await StartedAsync(1, time);
        await using SyncNode b = await StartedAsync(2, time);
        network.SetEndpoint("b", b.Handler);
        await b.IngestManyAsync(Batch(0, 50));
        ISyncPeer peer = network.CreatePeer("a", "b");
        a.AddPeer(peer);
        var raised = new List<SyncPeerStatus>();
        a.PeerStatusChanged += (_, status) => raised.Add(status);

        SyncPeerStatus before = a.GetStatus().Peers.Single();
        time.Advance(TimeSpan.FromSeconds(3));
        await a.SyncWithPeerAsync(peer);

        SyncPeerStatus after = a.GetStatus().Peers.Single();
        Assert.That(before.State, Is.EqualTo(SyncPeerState.Unknown));
        Assert.That(after.State, Is.EqualTo(SyncPeerState.InSync));
        Assert.That(after.Missing, Is.Zero);
        Assert.That(after.PeerMissing, Is.Zero);
        Assert.That(after.MissingExact, Is.True);
        Assert.That(after.RemoteCount, Is.EqualTo(50), "the count of the first root exchange");
        Assert.That(after.LastPassAt, Is.EqualTo(EngineTestKit.Start.AddSeconds(3)));
        Assert.That(after.LastSuccessAt, Is.EqualTo(after.LastPassAt));
        Assert.That(after.LastError, Is.Null);
        Assert.That(after.PassRunning, Is.False);
        Assert.That(a.Count, Is.EqualTo(50));
        Assert.That(raised, Has.Count.EqualTo(1));
        Assert.That(raised[0].State, Is.EqualTo(SyncPeerState.InSync));
        Assert.That(raised[0].Name, Is.EqualTo("b"));
    }

    [Test]
    public async Task GetStatus_PeerUnreachable_EstimatesMissingFromTheLastCountsAndKeepsTheLastSuccess()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        await using SyncNode a = await StartedAsync(1, time);
        bool up = true;
        var peer = new Mock<ISyncPeer>();
        peer.SetupGet(p => p.Name).Returns("flaky");
        peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .Returns((RootSummary local, CancellationToken _) => up
                ? ValueTask.FromResult(new RootExchangeResult(local, true))
                : ValueTask.FromException<RootExchangeResult>(new SyncPeerException(SyncStatusCode.Unavailable, "connection refused\r\nby the peer")));
        a.AddPeer(peer.Object);
        await a.SyncWithPeerAsync(peer.Object);
        DateTimeOffset success = time.GetUtcNow();

        up = false;
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.ThrowsAsync<SyncPeerException>(async () => await a.SyncWithPeerAsync(peer.Object));

        SyncPeerStatus status = a.GetStatus().Peers.Single();
        Assert.That(status.State, Is.EqualTo(SyncPeerState.Unreachable));
        Assert.That(status.LastError, Does.StartWith("Unavailable: connection refused"));
        Assert.That(status.LastError, Does.Not.Contain("\n"), "control characters of a peer's message are not passed on");
        Assert.That(status.LastSuccessAt, Is.EqualTo(success));
        Assert.That(status.LastPassAt, Is.EqualTo(success.AddSeconds(30)));
        Assert.That(status.MissingExact, Is.False);
        Assert.That(status.Missing, Is.Zero, "the peer held as many as this node when last seen");
    }

    [Test]
    public async Task GetStatus_PeerRefuses_FailingWithTheCodeAndAMessageCutShort()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        await using SyncNode a = await StartedAsync(1, time);
        var peer = new Mock<ISyncPeer>();
        peer.SetupGet(p => p.Name).Returns("strict");
        peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .Returns(ValueTask.FromException<RootExchangeResult>(new SyncPeerException(SyncStatusCode.PermissionDenied, new string('x', 5_000))));
        a.AddPeer(peer.Object);

        Assert.ThrowsAsync<SyncPeerException>(async () => await a.SyncWithPeerAsync(peer.Object));

        SyncPeerStatus status = a.GetStatus().Peers.Single();
        Assert.That(status.State, Is.EqualTo(SyncPeerState.Failing));
        Assert.That(status.LastError, Does.StartWith("PermissionDenied: xxx"));
        Assert.That(status.LastError!.Length, Is.LessThanOrEqualTo(201), "a peer cannot make the status grow");
        Assert.That(status.LastSuccessAt, Is.Null);
    }

    [Test]
    public async Task GetStatus_RecordsRefusedByVerification_BehindByExactlyThoseRecords()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new RejectFfValidator()), new InMemoryAssertionStore(), timeProvider: time);
        await a.StartAsync();
        await using SyncNode b = await StartedAsync(2, time);
        network.SetEndpoint("b", b.Handler);
        byte[] refused = EngineTestKit.Data(7);
        refused[0] = 0xFF;
        await b.IngestManyAsync([EngineTestKit.Data(1), EngineTestKit.Data(2), refused]);
        ISyncPeer peer = network.CreatePeer("a", "b");
        a.AddPeer(peer);

        await a.SyncWithPeerAsync(peer);

        SyncPeerStatus status = a.GetStatus().Peers.Single();
        Assert.That(a.Count, Is.EqualTo(2));
        Assert.That(status.State, Is.EqualTo(SyncPeerState.Behind));
        Assert.That(status.Missing, Is.EqualTo(1));
        Assert.That(status.MissingExact, Is.True);
    }

    [Test]
    public async Task GetStatus_V1Peer_ExtensionsNoneAfterPassesAndStillInSync()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        await using SyncNode a = await StartedAsync(1, time);
        await using SyncNode b = await StartedAsync(2, time);
        network.SetEndpoint("b", new V1Only(b.Handler));
        await b.IngestManyAsync(Batch(0, 20));
        await a.IngestAsync(EngineTestKit.Data(100));
        ISyncPeer peer = network.CreatePeer("a", "b");
        a.AddPeer(peer);

        await a.SyncWithPeerAsync(peer);
        await a.SyncWithPeerAsync(peer);

        SyncPeerStatus status = a.GetStatus().Peers.Single();
        Assert.That(status.State, Is.EqualTo(SyncPeerState.InSync), "a v1 root never matches ours: the complete diff decides");
        Assert.That(status.Missing, Is.Zero);
        Assert.That(b.Count, Is.EqualTo(21));
        // Learned as the passes try them: the reconciliations were refused; the leaves fit one page, so the cursor was never tried.
        Assert.That(status.Extensions & (SyncExtensions.ReconcileSymbols | SyncExtensions.Reconcile), Is.EqualTo(SyncExtensions.None));
    }

    [Test]
    public async Task PeerStatusChanged_HandlerThrows_PassCompletesAndTheFailureIsLogged()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var logs = new RecordingLoggerFactory();
        var network = new InMemoryNetwork();
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), logs, time);
        await a.StartAsync();
        await using SyncNode b = await StartedAsync(2, time);
        network.SetEndpoint("b", b.Handler);
        await b.IngestAsync(EngineTestKit.Data(1));
        a.PeerStatusChanged += (_, _) => throw new InvalidOperationException("host bug");

        SyncPassResult result = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        Assert.That(result.Fetched, Is.EqualTo(1));
        Assert.That(logs.Entries.Any(e => e.Id.Id == 105 && e.Level == LogLevel.Warning), Is.True);
    }

    [Test]
    public async Task Passes_ThatMoveData_LogOneInformationLine_AndLongCatchUpsLogTheirProgress()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var logs = new RecordingLoggerFactory();
        var network = new InMemoryNetwork();
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), logs, time);
        await a.StartAsync();
        await using SyncNode b = await StartedAsync(2, time);
        network.SetEndpoint("b", new V1Only(b.Handler)); // fetches, batch by batch
        await b.IngestManyAsync(Batch(0, 2_500));
        ISyncPeer peer = network.CreatePeer("a", "b");

        await a.SyncWithPeerAsync(peer);
        await a.SyncWithPeerAsync(peer); // moves nothing

        (LogLevel Level, EventId Id, string Message)[] moved = logs.Entries.Where(e => e.Id.Id == 311).ToArray();
        Assert.That(moved, Has.Length.EqualTo(1));
        Assert.That(moved[0].Level, Is.EqualTo(LogLevel.Information));
        Assert.That(moved[0].Message, Does.Contain("fetched 2500"));
        string[] progress = logs.Entries.Where(e => e.Id.Id == 312).Select(e => e.Message).ToArray();
        Assert.That(progress, Is.Not.Empty);
        Assert.That(progress.Length, Is.LessThanOrEqualTo(10), "about every 10%, not every batch");
        Assert.That(progress[^1], Does.Contain("2500 of about 2500 assertions (100%)"));
    }

    [Test]
    public async Task Gauges_ReportMissingPerPeerAndSecondsSinceTheLastSuccess()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        await using SyncNode a = await StartedAsync(1, time);
        await using SyncNode b = await StartedAsync(2, time);
        network.SetEndpoint("b", b.Handler);
        await b.IngestManyAsync(Batch(0, 5));
        ISyncPeer peer = network.CreatePeer("a", "b");
        a.AddPeer(peer);
        await a.SyncWithPeerAsync(peer);
        await b.IngestManyAsync(Batch(5, 7));
        network.Disconnect("b");
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.ThrowsAsync<SyncPeerException>(async () => await a.SyncWithPeerAsync(peer));

        Dictionary<string, double> observed = ObserveGauges(a.NodeId.ToString());

        Assert.That(observed["stemedb.sync.peer.missing|b"], Is.Zero, "unreachable: the estimate keeps the counts it last had");
        Assert.That(observed["stemedb.sync.peer.since_last_sync|b"], Is.EqualTo(40));
        Assert.That(observed["stemedb.sync.assertions|"], Is.EqualTo(5));
        Assert.That(observed["stemedb.sync.peers|unreachable"], Is.EqualTo(1));
        Assert.That(observed["stemedb.sync.peers|in_sync"], Is.Zero);

        network.Reconnect("b");
        await b.IngestAsync(EngineTestKit.Data(50));
        var stale = new Mock<ISyncPeer>();
        stale.SetupGet(p => p.Name).Returns("b-stale");
        stale.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .Returns(ValueTask.FromResult(new RootExchangeResult(new RootSummary(AssertionHash.Compute([1]), 17), false)));
        stale.Setup(p => p.GetLeavesAsync(It.IsAny<uint>(), It.IsAny<CancellationToken>()))
            .Returns(ValueTask.FromException<LeavesPage>(new SyncPeerException(SyncStatusCode.Internal, "broken")));
        a.AddPeer(stale.Object);
        Assert.ThrowsAsync<SyncPeerException>(async () => await a.SyncWithPeerAsync(stale.Object));

        observed = ObserveGauges(a.NodeId.ToString());
        Assert.That(observed["stemedb.sync.peer.missing|b-stale"], Is.EqualTo(12), "17 held there, 5 here: estimated from the counts");
    }

    [Test]
    public async Task Gauges_StoppedNode_NoLongerObserved()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        SyncNode a = await StartedAsync(1, time);
        string id = a.NodeId.ToString();
        Assert.That(ObserveGauges(id).ContainsKey("stemedb.sync.assertions|"), Is.True);

        await a.DisposeAsync();

        Assert.That(ObserveGauges(id).ContainsKey("stemedb.sync.assertions|"), Is.False);
    }

    [Test]
    public async Task Histograms_RecordPassDurationsAndReplicationDelaysByPath()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        await using SyncNode a = await StartedAsync(31, time);
        await using SyncNode b = await StartedAsync(32, time);
        network.SetEndpoint("b", b.Handler);
        network.SetEndpoint("v1", new V1Only(b.Handler));
        await b.IngestAsync(EngineTestKit.Data(1));
        var delays = new ConcurrentQueue<(double Seconds, string Path)>();
        var passes = new ConcurrentQueue<(double Seconds, string Result)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SyncTelemetry.MeterName && instrument.Name is "stemedb.sync.replication.delay" or "stemedb.sync.anti_entropy.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            string tag = string.Empty;
            foreach (KeyValuePair<string, object?> t in tags)
            {
                tag = t.Value as string ?? tag;
            }

            if (instrument.Name == "stemedb.sync.replication.delay")
            {
                delays.Enqueue((value, tag));
            }
            else
            {
                passes.Enqueue((value, tag));
            }
        });
        listener.Start();

        time.Advance(TimeSpan.FromSeconds(2.5));
        await a.SyncWithPeerAsync(network.CreatePeer("a", "v1")); // fetched: keeps b's timestamp
        await a.SyncWithPeerAsync(network.CreatePeer("a", "b")); // roots match now

        byte[] pushed = EngineTestKit.Data(2);
        var timestamp = new HlcTimestamp((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds(), 0, EngineTestKit.NodeIdFor(9));
        await a.Handler.GossipAsync(new GossipMessage(AssertionHash.Compute(pushed).ToArray(), pushed, timestamp.Time, 0, timestamp.NodeId.ToArray()));

        Assert.That(delays.Where(d => d.Path == "fetch").Select(d => d.Seconds), Is.EqualTo(new[] { 2.5 }));
        Assert.That(delays.Where(d => d.Path == "gossip").Select(d => d.Seconds), Is.EqualTo(new[] { 2.5 }));
        Assert.That(passes.Select(p => p.Result), Is.EquivalentTo(new[] { "synced", "match" }));
        Assert.That(passes.Select(p => p.Seconds), Has.All.EqualTo(0), "fake time does not move during a pass");
    }

    /// <summary>The test assertions <paramref name="start"/> onward, <paramref name="count"/> of them, for one <c>IngestManyAsync</c>.</summary>
    private static ReadOnlyMemory<byte>[] Batch(int start, int count) =>
        Enumerable.Range(start, count).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

    private static async Task<SyncNode> StartedAsync(int id, TimeProvider time)
    {
        var node = new SyncNode(EngineTestKit.Options(id, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), timeProvider: time);
        await node.StartAsync();
        return node;
    }

    /// <summary>The library's gauges for one node, as "instrument|peer or state" (empty for node-wide ones) to value.</summary>
    private static Dictionary<string, double> ObserveGauges(string nodeId)
    {
        var values = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SyncTelemetry.MeterName && instrument is ObservableInstrument<long> or ObservableInstrument<double>)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string node = string.Empty, detail = string.Empty;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "node")
                {
                    node = (string)tag.Value!;
                }
                else
                {
                    detail = (string)tag.Value!;
                }
            }

            if (node == nodeId)
            {
                values[instrument.Name + "|" + detail] = value;
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }

    /// <summary>A v1 node: the five v1 RPCs of a handler; every extension answers <c>UNIMPLEMENTED</c> (the interface's defaults).</summary>
    private sealed class V1Only(ISyncRequestHandler inner) : ISyncRequestHandler
    {
        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) => inner.GossipAsync(message, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            inner.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => inner.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            inner.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) => inner.PingAsync(callerNodeId, cancellationToken);
    }

    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerFactory factory) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                factory.Entries.Enqueue((logLevel, eventId, formatter(state, exception)));
        }
    }
}

using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Moq;
using System.Threading;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

[TestFixture]
public sealed class TelemetryTests
{
    [Test]
    public async Task SyncWithPeerAsync_WithListener_EmitsAntiEntropyActivityAndRoundCounter()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SyncTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var synced = new MetricRecorder("stemedb.sync.anti_entropy.rounds", "result", "synced");
        var network = new InMemoryNetwork();
        var time = new FakeTimeProvider(EngineTestKit.Start);
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), timeProvider: time);
        await using var b = new SyncNode(EngineTestKit.Options(2, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), timeProvider: time);
        await a.StartAsync();
        await b.StartAsync();
        network.SetEndpoint("b", b.Handler);
        await b.IngestAsync(EngineTestKit.Data(1));

        await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        Activity? pass = activities.FirstOrDefault(x => x.OperationName == "StemeDb.Sync.AntiEntropy");
        Assert.That(pass, Is.Not.Null);
        Assert.That(pass!.GetTagItem("stemedb.sync.peer"), Is.EqualTo("b"));
        Assert.That(pass.GetTagItem("stemedb.sync.fetched"), Is.EqualTo(1));
        Assert.That(synced.Total, Is.EqualTo(1));
    }

    [Test]
    public async Task GossipAsync_Rejected_LogsAtDebugWithStableEventId()
    {
        using var provider = new ListLoggerProvider();
        await using var node = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), provider);
        await node.StartAsync();
        AssertionRecord record = EngineTestKit.Record(1);

        await node.Handler.GossipAsync(new GossipMessage(new byte[3], record.Data, 1, 0, new byte[16]));

        // Debug: the server pipeline logs rejected pushes as warnings, naming the caller and rate-limited (SyncServerTests).
        (LogLevel level, EventId id, string message) entry = provider.Entries.Single(e => e.Id.Id == 204);
        Assert.That(entry.level, Is.EqualTo(LogLevel.Debug));
        Assert.That(entry.id.Name, Is.EqualTo("GossipRejected"));
        Assert.That(entry.message, Does.Contain("assertion_hash must be 32 bytes"));
        Assert.That(provider.Entries.Any(e => e.Id.Id == 100 && e.Message.Contains("started", StringComparison.Ordinal)), Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BackgroundAntiEntropy_PeerFailsThreeTimesTheSameWay_WarnsOnceThenDebugThenRecovery(CancellationToken cancellationToken)
    {
        using var provider = new ListLoggerProvider();
        var time = new TimerWatchingTimeProvider(EngineTestKit.Start);
        int passes = 0;
        var peer = new Mock<ISyncPeer>();
        peer.SetupGet(p => p.Name).Returns("flaky");
        peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<System.Threading.CancellationToken>()))
            .Returns((RootSummary local, System.Threading.CancellationToken _) => Interlocked.Increment(ref passes) <= 3
                ? ValueTask.FromException<RootExchangeResult>(new SyncPeerException(SyncStatusCode.Unavailable, "connection refused"))
                : ValueTask.FromResult(new RootExchangeResult(local, true)));
        await using var node = new SyncNode(
            EngineTestKit.Options(1, o =>
            {
                o.AntiEntropyInterval = TimeSpan.FromSeconds(10);
                o.PeerCallTimeout = TimeSpan.FromMinutes(7); // told apart from the loop's waits
            }),
            new InMemoryAssertionStore(),
            provider,
            time);
        await node.StartAsync();
        using var passEnded = new SemaphoreSlim(0);
        node.PeerStatusChanged += (_, _) => passEnded.Release(); // raised when each of the loop's passes ends
        node.AddPeer(peer.Object);

        for (int pass = 1; pass <= 4; pass++)
        {
            time.Advance(await time.NextTimerAsync(due => due != TimeSpan.FromMinutes(7)));
            await passEnded.WaitAsync(cancellationToken);
            Assert.That(Volatile.Read(ref passes), Is.EqualTo(pass), $"pass {pass} ran");
        }

        await time.NextTimerAsync(due => due != TimeSpan.FromMinutes(7)); // the loop logged pass 4 and waits again

        (LogLevel Level, EventId Id, string Message)[] entries = provider.Entries.Where(e => e.Id.Id is 301 or 305 or 306).ToArray();
        Assert.That(entries.Select(e => e.Id.Id), Is.EqualTo(new[] { 301, 305, 305, 306 }));
        Assert.That(entries[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(entries[1].Level, Is.EqualTo(LogLevel.Debug));
        Assert.That(entries[1].Message, Does.Contain("Unavailable"));
        Assert.That(entries[3].Level, Is.EqualTo(LogLevel.Information));
    }

    [Test]
    public async Task SyncWithPeerAsync_StreamingPull_LogsStartAndEndAndCountsAsItGoes()
    {
        using var streamBytes = new MetricRecorder("stemedb.sync.bytes.received", "kind", "stream");
        using var fetchedCounter = new MetricRecorder("stemedb.sync.fetch.assertions");
        var provider = new ListLoggerProvider();
        var network = new InMemoryNetwork();
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), provider);
        await using var b = new SyncNode(EngineTestKit.Options(2, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore());
        await a.StartAsync();
        await b.StartAsync();
        network.SetEndpoint("b", b.Handler);
        byte[][] data = Enumerable.Range(0, 3_000).Select(i => EngineTestKit.Data(i)).ToArray();
        await b.IngestManyAsync(data.Select(d => (ReadOnlyMemory<byte>)d).ToArray());

        SyncPassResult result = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        (LogLevel Level, EventId Id, string Message)[] entries = provider.Entries.Where(e => e.Id.Id is >= 307 and <= 310).ToArray();
        Assert.That(entries.Select(e => e.Id.Id), Is.EqualTo(new[] { 307, 308 }));
        Assert.That(entries.Select(e => e.Level), Has.All.EqualTo(LogLevel.Information));
        Assert.That(entries[1].Message, Does.Contain("3000 assertions stored (3000 new"));
        Assert.That(result.Fetched, Is.EqualTo(3_000));
        Assert.That(result.BytesReceived, Is.EqualTo(data.Sum(d => (long)d.Length)));
        Assert.That(streamBytes.Total, Is.EqualTo(result.BytesReceived));
        Assert.That(fetchedCounter.Total, Is.EqualTo(3_000), "counted batch by batch, once");
    }

    private sealed class ListLoggerProvider : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new ListLogger(this);

        public void Dispose()
        {
        }

        private sealed class ListLogger : ILogger
        {
            private readonly ListLoggerProvider _provider;

            public ListLogger(ListLoggerProvider provider) => _provider = provider;

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                _provider.Entries.Enqueue((logLevel, eventId, formatter(state, exception)));
        }
    }
}

using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests.Reliability;

/// <summary>
/// Load over loopback gRPC (Kestrel, HTTP/2): eight peers gossip concurrently into one node while that node runs
/// anti-entropy against a ninth node; and the same with a peer sending garbage at full speed. Figures (throughput,
/// peak managed memory, final count and root) are written to the test output.
/// The CI variants are small; the full-size runs are explicit:
/// <c>dotnet test test/StemeDb.Sync.Grpc.Tests -c Release --filter TestCategory=Long</c>
/// (<c>STEMEDB_LOAD_PER_PEER</c> overrides the 100,000 assertions per peer).
/// </summary>
[TestFixture]
public sealed class LoadTests
{
    private const int Peers = 8;
    private const int CallsInFlightPerPeer = 16;

    [Test]
    [CancelAfter(120_000)]
    public Task EightPeers_GossipWhileAntiEntropy_ExactCountAndRootNoErrors(CancellationToken cancellationToken) =>
        RunConvergenceAsync(perPeer: 1_500, antiEntropyOnly: 1_000, cancellationToken);

    [Test]
    [Explicit("Long run: 8 x 100,000 assertions.")]
    [Category("Long")]
    [CancelAfter(3_600_000)]
    public Task EightPeers_GossipWhileAntiEntropy_FullSize(CancellationToken cancellationToken) =>
        RunConvergenceAsync(PerPeerFromEnvironment(100_000), antiEntropyOnly: 10_000, cancellationToken);

    /// <remarks>
    /// The CI variant is small and runs on shared machines, where a wall-clock ratio proves nothing: it checks what
    /// was stored and refused and reports the ratio; the 0.5 target is asserted by the full-size run.
    /// </remarks>
    [Test]
    public Task GarbagePeer_FullSpeed_HonestPeersKeepGoingAndNothingInvalidStored() => RunGarbageAsync(perPeer: 1_500, minimumRatio: null);

    [Test]
    [Explicit("Long run: 8 x 100,000 honest assertions in each condition.")]
    [Category("Long")]
    public Task GarbagePeer_FullSpeed_FullSize() => RunGarbageAsync(PerPeerFromEnvironment(100_000), minimumRatio: 0.5);

    private static async Task RunConvergenceAsync(int perPeer, int antiEntropyOnly, CancellationToken cancellationToken)
    {
        // Arrange: the ninth node holds assertions that reach the target only by anti-entropy.
        AssertionRecord[][] batches = Enumerable.Range(0, Peers).Select(p => MakeRecords("gossip", p, perPeer)).ToArray();
        AssertionRecord[] pulled = MakeRecords("anti-entropy", 99, antiEntropyOnly);
        await using SyncNode source = await StartNodeAsync(antiEntropy: false);
        foreach (AssertionRecord record in pulled)
        {
            await source.IngestAsync(record.Data);
        }

        await using KestrelHost sourceHost = await KestrelHost.StartAsync(source.Handler);
        await using SyncNode target = await StartNodeAsync(antiEntropy: true);
        await using KestrelHost targetHost = await KestrelHost.StartAsync(target.Handler, GuardedByConnection(new PeerGuard()));
        using GrpcSyncPeer toSource = sourceHost.CreatePeer();
        target.AddPeer(toSource);
        using var memory = new PeakMemory();

        // Act
        var clock = Stopwatch.StartNew();
        SendResult[] results = await Task.WhenAll(batches.Select(batch => SendAsync(targetHost, batch)));
        double gossipSeconds = clock.Elapsed.TotalSeconds;
        long expected = (long)Peers * perPeer + antiEntropyOnly;
        while (target.Count < expected)
        {
            await Task.Delay(100, cancellationToken); // the test's CancelAfter bounds the wait
        }

        SyncPassResult final = await target.SyncWithPeerAsync(toSource);
        double totalSeconds = clock.Elapsed.TotalSeconds;

        // Assert
        AssertionHash referenceRoot = SyncProtocol.ComputeRoot(batches.SelectMany(b => b).Concat(pulled).Select(r => r.Hash));

        int errors = results.Sum(r => r.Errors);
        Report(
            $"8 peers x {perPeer:N0} gossip + {antiEntropyOnly:N0} by anti-entropy: {Peers * perPeer / gossipSeconds:N0} gossip/s over {gossipSeconds:N1} s, converged in {totalSeconds:N1} s; " +
            $"final count {target.Count:N0} (expected {expected:N0}), root {target.Root} (expected {referenceRoot}); errors {errors}; " +
            $"peak managed memory {memory.PeakMiB:N0} MiB (whole test process: server, clients and their payloads)");
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Zero, results.Select(r => r.FirstError).FirstOrDefault(e => e is not null));
            Assert.That(results.Sum(r => r.Accepted), Is.EqualTo(Peers * perPeer));
            Assert.That(target.Count, Is.EqualTo(expected));
            Assert.That(target.Root, Is.EqualTo(referenceRoot));
            Assert.That(final.Fetched + final.Rejected, Is.Zero, "the last pass finds nothing missing or invalid");
        });
    }

    private static async Task RunGarbageAsync(int perPeer, double? minimumRatio)
    {
        // Honest peers alone and with a garbage sender, in alternating rounds (alone, with, alone, with) so that
        // drifting machine load hits both sides alike; each round on a fresh node, so the store is the same size.
        int perRound = perPeer / 2;
        double aloneSeconds = 0, withSeconds = 0;
        long stored = 0, errors = 0;
        string? firstError = null;
        var junk = new GarbageResult(0, 0, 0, 0);
        for (int round = 0; round < 4; round++)
        {
            bool withGarbage = round % 2 == 1;
            (double seconds, long count, SendResult[] results, GarbageResult garbage) = await RunGarbageRoundAsync(perRound, withGarbage);
            if (withGarbage)
            {
                withSeconds += seconds;
                junk = new GarbageResult(junk.Sent + garbage.Sent, junk.Rejected + garbage.Rejected, junk.Refused + garbage.Refused, junk.Accepted + garbage.Accepted);
            }
            else
            {
                aloneSeconds += seconds;
            }

            stored += count;
            errors += results.Sum(r => r.Errors);
            firstError ??= results.Select(r => r.FirstError).FirstOrDefault(e => e is not null);
        }

        double aloneRate = 2.0 * Peers * perRound / aloneSeconds;
        double withGarbageRate = 2.0 * Peers * perRound / withSeconds;
        double ratio = withGarbageRate / aloneRate;
        Report(
            $"8 honest peers x {perPeer:N0} (alternating rounds): alone {aloneRate:N0} gossip/s, with a garbage peer {withGarbageRate:N0} gossip/s (ratio {ratio:N2}); " +
            $"garbage pushes sent {junk.Sent:N0}: {junk.Rejected:N0} answered accepted=false, {junk.Refused:N0} refused by the peer guard (RESOURCE_EXHAUSTED), {junk.Accepted:N0} accepted; " +
            $"stored {stored:N0} (expected {4L * Peers * perRound:N0})");
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Zero, firstError);
            Assert.That(junk.Accepted, Is.Zero, "no garbage accepted");
            Assert.That(junk.Sent, Is.GreaterThan(0));
            Assert.That(stored, Is.EqualTo(4L * Peers * perRound), "exactly the honest assertions are stored");
            if (minimumRatio is double floor)
            {
                Assert.That(ratio, Is.GreaterThanOrEqualTo(floor), "honest throughput with a garbage peer, relative to without");
            }
        });
    }

    /// <returns>Seconds the honest peers took, assertions stored, the honest results, and the garbage sender's tally.</returns>
    private static async Task<(double Seconds, long Stored, SendResult[] Results, GarbageResult Garbage)> RunGarbageRoundAsync(int perPeer, bool withGarbage)
    {
        await using SyncNode target = await StartNodeAsync(antiEntropy: false);
        await using KestrelHost host = await KestrelHost.StartAsync(target.Handler, GuardedByConnection(new PeerGuard()));
        AssertionRecord[][] batches = Enumerable.Range(0, Peers).Select(p => MakeRecords(withGarbage ? "noisy" : "quiet", p, perPeer)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, Peers).Select(p => SendAsync(host, MakeRecords("warm-up", p, 100))));
        long baseCount = target.Count;
        GC.Collect();

        using var stop = new CancellationTokenSource();
        Task<GarbageResult> garbage = withGarbage ? SendGarbageAsync(host, stop.Token) : Task.FromResult(new GarbageResult(0, 0, 0, 0));
        var clock = Stopwatch.StartNew();
        SendResult[] results = await Task.WhenAll(batches.Select(batch => SendAsync(host, batch)));
        double seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        GarbageResult junk = await garbage;
        return (seconds, target.Count - baseCount, results, junk);
    }

    private static KestrelHostOptions GuardedByConnection(PeerGuard guard) => new()
    {
        ServiceFactory = services => new PerConnectionGuardedService(
            (ISyncRequestHandler)services.GetService(typeof(ISyncRequestHandler))!, guard),
    };

    private static async Task<SyncNode> StartNodeAsync(bool antiEntropy) =>
        await TestNodes.StartAsync(new InMemoryAssertionStore(), options =>
        {
            options.ContentValidator = RkyvAssertionValidator.Instance;
            options.GossipFanout = 0;
            options.AntiEntropyInterval = antiEntropy ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromMinutes(10);
            options.AntiEntropyJitter = TimeSpan.Zero;
        });

    private static AssertionRecord[] MakeRecords(string kind, int peer, int count)
    {
        var node = NodeId.NewId();
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var records = new AssertionRecord[count];
        for (int i = 0; i < count; i++)
        {
            var timestamp = new HlcTimestamp(now, (uint)i, node);
            byte[] data = AssertionCodec.Encode(new Assertion(
                string.Create(CultureInfo.InvariantCulture, $"load/{kind}/{peer}/{i}/{Guid.NewGuid():N}"), "load:sequence", AssertionValue.FromInt(i), timestamp, node));
            records[i] = new AssertionRecord(AssertionHash.Compute(data), data, timestamp);
        }

        return records;
    }

    private static async Task<SendResult> SendAsync(KestrelHost host, AssertionRecord[] records)
    {
        using GrpcSyncPeer peer = host.CreatePeer(); // its own connection: its own peer to the guard
        int next = -1, accepted = 0, errors = 0;
        string? firstError = null;

        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < records.Length)
            {
                try
                {
                    GossipResult result = await peer.GossipAsync(records[i]);
                    if (result.Accepted)
                    {
                        Interlocked.Increment(ref accepted);
                        continue;
                    }

                    firstError ??= result.Error;
                }
                catch (SyncPeerException ex)
                {
                    firstError ??= ex.Message;
                }

                Interlocked.Increment(ref errors);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, CallsInFlightPerPeer).Select(_ => Task.Run(Worker)));
        return new SendResult(accepted, errors, firstError);
    }

    private static async Task<GarbageResult> SendGarbageAsync(KestrelHost host, CancellationToken stop)
    {
        using GrpcSyncPeer peer = host.CreatePeer();
        long sent = 0, rejected = 0, refused = 0, acceptedCount = 0;

        async Task Worker(int seed)
        {
            var random = new Random(seed);
            byte[] data = new byte[256];
            while (!stop.IsCancellationRequested)
            {
                random.NextBytes(data);
                byte[] copy = (byte[])data.Clone();
                var record = new AssertionRecord(AssertionHash.Compute(copy), copy, new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, NodeId.NewId()));
                Interlocked.Increment(ref sent);
                try
                {
                    GossipResult result = await peer.GossipAsync(record, CancellationToken.None);
                    Interlocked.Increment(ref result.Accepted ? ref acceptedCount : ref rejected);
                }
                catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.ResourceExhausted)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, CallsInFlightPerPeer).Select(i => Task.Run(() => Worker(i))));
        return new GarbageResult(sent, rejected, refused, acceptedCount);
    }

    private static int PerPeerFromEnvironment(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("STEMEDB_LOAD_PER_PEER"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : fallback;

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine(line);
    }

    private readonly record struct SendResult(int Accepted, int Errors, string? FirstError);

    private readonly record struct GarbageResult(long Sent, long Rejected, long Refused, long Accepted);

    /// <summary>Keys the guard by connection (address and port): every test client is its own peer on loopback.</summary>
    private sealed class PerConnectionGuardedService(ISyncRequestHandler handler, PeerGuard guard) : SyncServiceImpl(new SyncServer(handler, guard))
    {
        protected override string GetPeerKey(ServerCallContext context) => context.Peer;
    }

    /// <summary>Samples the managed heap every 20 ms and keeps the peak.</summary>
    private sealed class PeakMemory : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampler;
        private long _peak;

        public PeakMemory() => _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                long now = GC.GetTotalMemory(false);
                if (now > Interlocked.Read(ref _peak))
                {
                    Interlocked.Exchange(ref _peak, now);
                }

                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        public double PeakMiB => Interlocked.Read(ref _peak) / (1024.0 * 1024.0);

        public void Dispose()
        {
            _stop.Cancel();
            _sampler.Wait();
            _stop.Dispose();
        }
    }
}

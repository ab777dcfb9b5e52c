using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>Settings of the demo.</summary>
internal sealed class DemoSettings
{
    /// <summary>Assertions ingested on each node in each writing phase.</summary>
    public int AssertionsPerNode { get; init; } = 300;

    /// <summary>How long the whole demo may take before it gives up.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(50);

    /// <summary>Mean interval between anti-entropy passes of each link.</summary>
    public TimeSpan AntiEntropyInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>What the demo ended with.</summary>
internal sealed record DemoOutcome(bool Converged, IReadOnlyList<RootSummary> FinalRoots, long ExpectedCount, TimeSpan Elapsed);

/// <summary>
/// Three real nodes on loopback gRPC: ingest on each, cut one off, keep writing, heal, and watch convergence.
/// Everything is in memory and in this process; nothing is left behind.
/// </summary>
internal sealed class DemoRunner
{
    private static readonly string[] Names = ["A", "B", "C"];

    private readonly DemoSettings _settings;
    private readonly TextWriter _out;
    private readonly Stopwatch _clock = new();
    private readonly List<NodeServer> _servers = new();
    private readonly CountingPeer?[,] _links = new CountingPeer?[3, 3];
    private readonly List<GrpcSyncPeer> _channels = new();

    public DemoRunner(DemoSettings settings, TextWriter output)
    {
        _settings = settings;
        _out = output;
    }

    public async Task<DemoOutcome> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Whatever happened (converged, timed out, cancelled, failed), stop every server and close every channel.
            await ShutdownAsync().ConfigureAwait(false);
        }
    }

    private async Task<DemoOutcome> RunCoreAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_settings.Timeout);
        CancellationToken token = deadline.Token;
        _clock.Start();
        int n = _settings.AssertionsPerNode;
        long expected = 6L * n;
        try
        {
            await RunPhasesAsync(n, expected, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await Say("").ConfigureAwait(false);
            await Say("Gave up: not converged within {0:0} s.", _settings.Timeout.TotalSeconds).ConfigureAwait(false);
        }

        IReadOnlyList<RootSummary> roots = await PrintSummaryAsync(expected, cancellationToken).ConfigureAwait(false);
        bool converged = roots.Count == 3 && roots.All(r => r.Root == roots[0].Root && r.Count == expected);
        await Say(converged ? "CONVERGED: all three roots match." : "NOT CONVERGED: the roots differ.").ConfigureAwait(false);
        return new DemoOutcome(converged, roots, expected, _clock.Elapsed);
    }

    private async Task RunPhasesAsync(int n, long expected, CancellationToken token)
    {
        await Say("Starting three nodes on loopback gRPC (in-memory stores, anti-entropy every ~{0:0.#} s)", _settings.AntiEntropyInterval.TotalSeconds).ConfigureAwait(false);
        await StartNodesAsync(token).ConfigureAwait(false);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                if (i != j)
                {
                    Connect(i, j);
                }
            }
        }

        await Say("").ConfigureAwait(false);
        await Say("1. Writing {0} assertions on each node; gossip spreads them", n).ConfigureAwait(false);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => IngestAsync(i, phase: 1, n, token))).ConfigureAwait(false);
        await WaitUntilAsync(() => AllConverged(3L * n), "all three nodes hold the same set", token).ConfigureAwait(false);

        await Say("").ConfigureAwait(false);
        await Say("2. Cutting C off (links A<->C and B<->C removed); writing {0} more on every node", n).ConfigureAwait(false);
        Disconnect(0, 2);
        Disconnect(2, 0);
        Disconnect(1, 2);
        Disconnect(2, 1);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => IngestAsync(i, phase: 2, n, token))).ConfigureAwait(false);
        await WaitUntilAsync(
            () => _servers[0].Node.Root == _servers[1].Node.Root && _servers[0].Node.Count == 5L * n && _servers[2].Node.Count == 4L * n,
            "A and B agree; C has diverged",
            token).ConfigureAwait(false);

        await Say("").ConfigureAwait(false);
        await Say("3. Healing: links restored; anti-entropy reconciles the difference").ConfigureAwait(false);
        long healedAt = _clock.ElapsedMilliseconds;
        Connect(0, 2);
        Connect(2, 0);
        Connect(1, 2);
        Connect(2, 1);
        await WaitUntilAsync(() => AllConverged(expected), "converged", token).ConfigureAwait(false);
        await Say("   healed in {0:0.00} s", (_clock.ElapsedMilliseconds - healedAt) / 1000.0).ConfigureAwait(false);
    }

    private async Task StartNodesAsync(CancellationToken cancellationToken)
    {
        foreach (string name in Names)
        {
            NodeServer server = await NodeServer.StartAsync(
                new NodeServerSettings
                {
                    Listen = new Uri("http://127.0.0.1:0"),
                    MinimumLogLevel = LogLevel.None,
                    ConfigureNode = options =>
                    {
                        // Tuned for a demo that converges in seconds on loopback; the other settings keep the core's defaults.
                        options.AntiEntropyInterval = _settings.AntiEntropyInterval;
                        options.GossipFanout = 2;
                        options.PeerCallTimeout = TimeSpan.FromSeconds(5);
                        options.GossipRetryBaseDelay = TimeSpan.FromMilliseconds(100);
                        options.GossipRetryMaxDelay = TimeSpan.FromSeconds(1);
                    },
                },
                cancellationToken).ConfigureAwait(false);
            _servers.Add(server);
            await Say("   {0}  node {1}  {2}", name, server.Node.NodeId, server.Address.GetLeftPart(UriPartial.Authority)).ConfigureAwait(false);
        }

        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                if (i != j)
                {
                    // No gRPC deadline: the node's PeerCallTimeout is the deadline of every call it makes.
                    GrpcSyncPeer channel = GrpcSyncPeer.Create(_servers[j].Address);
                    _channels.Add(channel);
                    _links[i, j] = new CountingPeer(channel, $"{Names[i]}->{Names[j]} ({_servers[j].Address.GetLeftPart(UriPartial.Authority)})");
                }
            }
        }
    }

    private void Connect(int from, int to) => _servers[from].Node.AddPeer(_links[from, to]!);

    private void Disconnect(int from, int to) => _servers[from].Node.RemovePeer(_links[from, to]!);

    private async Task IngestAsync(int node, int phase, int count, CancellationToken cancellationToken)
    {
        NodeServer server = _servers[node];
        NodeId author = server.Node.NodeId;
        int next = -1;
        async Task WorkerAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var assertion = new Assertion(
                    subject: string.Create(CultureInfo.InvariantCulture, $"demo:{Names[node]}:{phase}:{i}"),
                    predicate: "demo/value",
                    @object: AssertionValue.FromInt((phase * 1_000_000L) + i),
                    hlc: new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), (uint)i, author),
                    author: author,
                    confidence: 0.9f,
                    tags: ["demo", Names[node]]);
                await server.Node.IngestAsync(AssertionCodec.Encode(assertion), cancellationToken).ConfigureAwait(false);
            }
        }

        Task[] workers = Enumerable.Range(0, 4).Select(_ => WorkerAsync()).ToArray();
        Task all = Task.WhenAll(workers);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(250, cancellationToken)).ConfigureAwait(false);
            if (node == 0)
            {
                await PrintStatusAsync(force: false).ConfigureAwait(false);
            }
        }

        await all.ConfigureAwait(false);
    }

    private bool AllConverged(long count) =>
        _servers.All(s => s.Node.Count == count && s.Node.Root == _servers[0].Node.Root);

    private async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await PrintStatusAsync(force: false).ConfigureAwait(false);
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        await PrintStatusAsync(force: true).ConfigureAwait(false);
        await Say("   -> {0} ({1:0.00} s)", what, _clock.Elapsed.TotalSeconds).ConfigureAwait(false);
    }

    private long _lastStatusAt = -1_000;
    private string _lastStatus = string.Empty;

    private async Task PrintStatusAsync(bool force)
    {
        long now = _clock.ElapsedMilliseconds;
        if (!force && now - _lastStatusAt < 400)
        {
            return;
        }

        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"   [{now / 1000.0,5:0.0}s]");
        for (int i = 0; i < _servers.Count; i++)
        {
            line.Append(CultureInfo.InvariantCulture, $"  {Names[i]} {_servers[i].Node.Count,5} {_servers[i].Node.Root.ToString()[..8]}");
        }

        int distinct = _servers.Select(s => s.Node.Root).Distinct().Count();
        line.Append(distinct == 1 ? "   roots match" : string.Create(CultureInfo.InvariantCulture, $"   {distinct} distinct roots"));
        line.Append(CultureInfo.InvariantCulture, $"   {FormatBytes(TotalBytes())} of assertions moved");
        string text = line.ToString();
        if (!force && text[12..] == _lastStatus)
        {
            return;
        }

        _lastStatus = text[12..];
        _lastStatusAt = now;
        await _out.WriteLineAsync(text).ConfigureAwait(false);
    }

    private long TotalBytes()
    {
        long total = 0;
        foreach (CountingPeer? link in _links)
        {
            if (link is not null)
            {
                total += link.BytesSent + link.BytesReceived;
            }
        }

        return total;
    }

    private async Task<IReadOnlyList<RootSummary>> PrintSummaryAsync(long expected, CancellationToken cancellationToken)
    {
        await Say("").ConfigureAwait(false);
        await Say("Summary (roots read back over gRPC)").ConfigureAwait(false);
        var roots = new List<RootSummary>();
        for (int i = 0; i < _servers.Count; i++)
        {
            using GrpcSyncPeer probe = GrpcSyncPeer.Create(_servers[i].Address, new GrpcSyncPeerOptions { Deadline = TimeSpan.FromSeconds(5) });
            RootExchangeResult answer = await probe.ExchangeRootsAsync(new RootSummary(AssertionHash.Zero, 0), cancellationToken).ConfigureAwait(false);
            roots.Add(answer.Remote);
            await Say("   {0}  {1,6} assertions  root {2}", Names[i], answer.Remote.Count, answer.Remote.Root).ConfigureAwait(false);
        }

        long calls = 0, sent = 0, received = 0, pushed = 0, fetched = 0, failures = 0;
        foreach (CountingPeer? link in _links)
        {
            if (link is not null)
            {
                calls += link.Calls;
                sent += link.BytesSent;
                received += link.BytesReceived;
                pushed += link.AssertionsSent;
                fetched += link.AssertionsReceived;
                failures += link.Failures;
            }
        }

        await Say("   expected {0} assertions on every node", expected).ConfigureAwait(false);
        await Say("   {0} peer calls ({1} failed); {2} pushes accepted by gossip and anti-entropy ({3}), {4} assertions fetched by anti-entropy ({5})", calls, failures, pushed, FormatBytes(sent), fetched, FormatBytes(received)).ConfigureAwait(false);
        await Say("   elapsed {0:0.00} s", _clock.Elapsed.TotalSeconds).ConfigureAwait(false);
        return roots;
    }

    private async Task ShutdownAsync()
    {
        foreach (NodeServer server in _servers)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }

        foreach (GrpcSyncPeer channel in _channels)
        {
            channel.Dispose();
        }

        _servers.Clear();
        _channels.Clear();
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        < 10 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 10 * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MiB"),
    };

    private Task Say(string format, params object?[] args) =>
        _out.WriteLineAsync(string.Format(CultureInfo.InvariantCulture, format, args));
}

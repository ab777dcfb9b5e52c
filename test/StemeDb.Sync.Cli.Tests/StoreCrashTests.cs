using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// Kills a serving node (<c>stemedb-sync serve --data</c>, a child process) with SIGKILL during heavy ingest, restarts
/// it on the same data directory, and checks that every acknowledged assertion survived and that the rebuilt root is
/// the root of the stored set. Repeated on the same directory, so each restart must also keep earlier rounds. Run over
/// each durable store (<c>--store</c>).
/// </summary>
[TestFixture("rocksdb")]
[TestFixture("sqlite")]
[NonParallelizable]
[Platform(Exclude = "Win", Reason = "SIGKILL semantics")]
public sealed partial class StoreCrashTests(string store)
{
    private const int Rounds = 4;
    private const int Writers = 8;

    private string _dataDirectory = null!;
    private readonly List<Process> _processes = new();

    [SetUp]
    public void SetUp()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), "stemedb-crash-" + Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public void TearDown()
    {
        foreach (Process process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }

            process.Dispose();
        }

        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_KilledDuringHeavyIngest_KeepsEveryAcknowledgedAssertionAndRebuildsTheRoot(CancellationToken cancellationToken)
    {
        var acknowledged = new HashSet<AssertionHash>();
        var random = new Random(20261127);

        for (int round = 0; round < Rounds; round++)
        {
            // Arrange: a node on the data directory, with every assertion acknowledged so far.
            (Process process, Uri address) = await StartServeAsync(cancellationToken);
            using (GrpcSyncPeer peer = GrpcSyncPeer.Create(address))
            {
                await AssertRecoveredAsync(peer, acknowledged, round, cancellationToken);

                // Act: heavy concurrent ingest, then SIGKILL at a random point while writes are in flight.
                int killAfter = random.Next(300, 1500);
                var acks = new ConcurrentBag<AssertionHash>();
                using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task[] writers = Enumerable.Range(0, Writers)
                    .Select(w => WriteUntilFailureAsync(peer, round, w, acks, stopWriting.Token))
                    .ToArray();
                while (acks.Count < killAfter && !writers.All(t => t.IsCompleted))
                {
                    await Task.Delay(5, cancellationToken);
                }

                process.Kill(); // SIGKILL: no shutdown code runs in the node.
                await process.WaitForExitAsync(cancellationToken);
                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

                Assert.That(acks, Has.Count.GreaterThanOrEqualTo(killAfter), "the node was killed before enough writes were acknowledged");
                Assert.That(process.ExitCode, Is.EqualTo(137), "the node must die by SIGKILL, not exit on its own");
                acknowledged.UnionWith(acks);
            }
        }

        // Assert: a last restart holds everything acknowledged across all rounds.
        (Process last, Uri lastAddress) = await StartServeAsync(cancellationToken);
        using (GrpcSyncPeer peer = GrpcSyncPeer.Create(lastAddress))
        {
            await AssertRecoveredAsync(peer, acknowledged, Rounds, cancellationToken);
        }

        last.Kill();
        await last.WaitForExitAsync(cancellationToken);
    }

    private static async Task AssertRecoveredAsync(GrpcSyncPeer peer, HashSet<AssertionHash> acknowledged, int round, CancellationToken cancellationToken)
    {
        LeavesPage page = await peer.GetLeavesAsync((uint)SyncProtocol.MaxLeavesPerPage, cancellationToken);
        Assert.That(page.Truncated, Is.False, "the test keeps the store under one leaves page");
        var stored = new HashSet<AssertionHash>(page.Leaves);
        Assert.That(acknowledged.Except(stored).ToArray(), Is.Empty, $"round {round}: acknowledged assertions lost after SIGKILL");

        // Every acknowledged record comes back intact (bytes hash to the name).
        AssertionHash[] wanted = acknowledged.ToArray();
        for (int i = 0; i < wanted.Length; i += SyncProtocol.MaxFetchHashes)
        {
            AssertionHash[] batch = wanted[i..Math.Min(wanted.Length, i + SyncProtocol.MaxFetchHashes)];
            IReadOnlyList<AssertionRecord> records = await peer.FetchAsync(batch, cancellationToken);
            Assert.That(records, Has.Count.EqualTo(batch.Length));
            Assert.That(records.All(r => r.Hash.Matches(r.Data.Span)), Is.True);
        }

        // The root the restarted node rebuilt from its store is the root of exactly the stored set.
        AssertionHash expected = SyncProtocol.ComputeRoot(page.Leaves);

        RootExchangeResult roots = await peer.ExchangeRootsAsync(new RootSummary(expected, page.Leaves.Count), cancellationToken);
        Assert.That(roots.Remote.Count, Is.EqualTo(stored.Count));
        Assert.That(roots.Remote.Root, Is.EqualTo(expected));
        Assert.That(roots.RootsMatch, Is.True);
        await TestContext.Progress.WriteLineAsync($"round {round}: {acknowledged.Count} acknowledged, {stored.Count} stored after restart, root {roots.Remote.Root}");
    }

    private static async Task WriteUntilFailureAsync(GrpcSyncPeer peer, int round, int writer, ConcurrentBag<AssertionHash> acks, CancellationToken cancellationToken)
    {
        for (int i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            AssertionRecord record = TestAssertions.Record($"crash:{round}:{writer}:{i}");
            GossipResult result;
            try
            {
                result = await peer.GossipAsync(record, cancellationToken);
            }
            catch (SyncPeerException)
            {
                return; // the node is gone: this write was not acknowledged
            }

            Assert.That(result.Accepted, Is.True, result.Error);
            acks.Add(record.Hash);
        }
    }

    private async Task<(Process Process, Uri Address)> StartServeAsync(CancellationToken cancellationToken)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "stemedb-sync.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { dll, "serve", "--listen", "http://127.0.0.1:0", "--data", _dataDirectory, "--store", store })
        {
            start.ArgumentList.Add(arg);
        }

        Process process = Process.Start(start)!;
        _processes.Add(process);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            Match match = ListeningOn().Match(line);
            if (match.Success)
            {
                // Keep draining output so the child never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
                return (process, new Uri(match.Groups[1].Value));
            }
        }

        string error = await process.StandardError.ReadToEndAsync(cancellationToken);
        Assert.Fail("serve exited without listening: " + error);
        throw new InvalidOperationException();
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Live gossip across real <c>stemedb-sync serve</c> processes on loopback, every node peered with every other, with
/// anti-entropy off: reach by push and the time to the last delivery. Run: <c>dotnet run -c Release --project
/// bench/StemeDb.Sync.Benchmarks -- broadcast-serve [--nodes 10] [--assertions 200] [--base-port 47100]
/// [--wait-ms 5000] [--cli PATH]</c>, after building the CLI in Release (<c>--cli</c> defaults to its build output in
/// this repository).
/// </summary>
/// <remarks>
/// The assertions are pushed one by one (a <c>Gossip</c> call, as a host's writer would) to random nodes, back to back.
/// The harness polls every node's count by <c>Ping</c> and fails unless every node ends with every assertion within the
/// wait. Payload copies are not measured here: <c>serve</c> exposes no metrics yet (the in-memory rows of
/// <see cref="BroadcastHarness"/> count them).
/// </remarks>
internal static class ServeClusterHarness
{
    /// <summary>The first argument that selects this harness instead of BenchmarkDotNet.</summary>
    public const string Command = "broadcast-serve";

    private const string Usage = "broadcast-serve [--nodes 10] [--assertions 200] [--base-port 47100] [--wait-ms 5000] [--cli PATH]";

    public static async Task<int> RunAsync(string[] args)
    {
        int count = 10, assertions = 200, basePort = 47100, waitMs = 5000;
        string? cli = null;
        if (!HarnessSupport.TryParseArguments(args, Usage, (name, value) =>
        {
            switch (name)
            {
                case "--nodes": count = HarnessSupport.Count(name, value); break;
                case "--assertions": assertions = HarnessSupport.Count(name, value); break;
                case "--base-port": basePort = HarnessSupport.Count(name, value); break;
                case "--wait-ms": waitMs = HarnessSupport.Count(name, value); break;
                case "--cli": cli = value; break;
                default: throw HarnessSupport.UnknownArgument(name);
            }
        }))
        {
            return 2;
        }

        cli ??= DefaultCli();
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"No CLI at {cli}: build it first (dotnet build -c Release src/StemeDb.Sync.Cli), or pass --cli.");
            return 2;
        }

        Console.WriteLine(HarnessSupport.MachineLine());
        var addresses = Enumerable.Range(0, count).Select(i => new Uri($"http://127.0.0.1:{basePort + i}")).ToArray();
        var processes = new List<Process>();
        var clients = new List<GrpcSyncPeer>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (string argument in new[] { cli, "serve", "--listen", addresses[i].ToString().TrimEnd('/'), "--anti-entropy-interval", "3600" })
                {
                    start.ArgumentList.Add(argument);
                }

                foreach (Uri peer in addresses.Where((_, j) => j != i))
                {
                    start.ArgumentList.Add("--peer");
                    start.ArgumentList.Add(peer.ToString().TrimEnd('/'));
                }

                Process process = Process.Start(start) ?? throw new InvalidOperationException("serve did not start.");
                processes.Add(process);
                process.ErrorDataReceived += (_, _) => { };
                process.BeginErrorReadLine();
            }

            foreach (Process process in processes)
            {
                await WaitForListeningAsync(process);
            }

            clients.AddRange(addresses.Select(a => GrpcSyncPeer.Create(a)));
            (byte[] buffer, int[] offsets) = IngestCorpus.Create(assertions);
            var random = new Random(1);
            var pushed = Stopwatch.StartNew();
            foreach (ReadOnlyMemory<byte> data in IngestCorpus.Slices(buffer, offsets))
            {
                var record = new AssertionRecord(AssertionHash.Compute(data.Span), data, HlcTimestamp.None);
                GossipResult result = await clients[random.Next(count)].GossipAsync(record);
                if (!result.Accepted)
                {
                    throw new InvalidOperationException($"A node refused an assertion: {result.Error}");
                }
            }

            TimeSpan ingest = pushed.Elapsed;
            var sinceLast = Stopwatch.StartNew();
            TimeSpan? lastDelivery = null;
            long[] counts = new long[count];
            while (sinceLast.ElapsedMilliseconds < waitMs)
            {
                for (int i = 0; i < count; i++)
                {
                    counts[i] = (await clients[i].PingAsync(NodeId.NewId())).AssertionCount;
                }

                if (counts.All(c => c == assertions))
                {
                    lastDelivery = sinceLast.Elapsed;
                    break;
                }

                await Task.Delay(20);
            }

            double reach = counts.Sum() / ((double)count * assertions);
            Console.WriteLine(HarnessSupport.Invariant($"{assertions} assertions pushed to random nodes in {ingest.TotalMilliseconds:F0} ms; anti-entropy off."));
            Console.WriteLine("| serve processes | peers each | reach by push | last delivery after last push |");
            Console.WriteLine("|---:|---:|---:|---:|");
            Console.WriteLine(HarnessSupport.Invariant(
                $"| {count} | all | {reach:P2} | {(lastDelivery is { } t ? $"{t.TotalMilliseconds:F0} ms" : "not all")} |"));
            return lastDelivery is null ? 1 : 0;
        }
        finally
        {
            foreach (GrpcSyncPeer client in clients)
            {
                client.Dispose();
            }

            foreach (Process process in processes)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
                catch (InvalidOperationException)
                {
                    // already gone
                }

                process.Dispose();
            }
        }
    }

    private static async Task WaitForListeningAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("listening on ", StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None); // keep draining
                return;
            }
        }

        throw new InvalidOperationException("serve exited before it listened.");
    }

    private static string DefaultCli()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "StemeDb.Sync.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return Path.Combine(directory ?? ".", "src", "StemeDb.Sync.Cli", "bin", "Release", "net10.0", "stemedb-sync.dll");
    }
}

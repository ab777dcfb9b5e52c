using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using StemeDb.Sync.RocksDb;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// The durable store at scale: <see cref="SyncNode.IngestManyAsync"/> and the import of an assertion stream file into the
/// RocksDB store (power-loss safe) beside the in-memory store, and a restart, at each size given, in one run. Run:
/// <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- durable-scale [--counts 1000000,10000000]</c>.
/// </summary>
/// <remarks>
/// The assertions are made 1,024 at a time as they are ingested (so no size needs them all in memory at once); only the
/// <see cref="SyncNode.IngestManyAsync"/> calls are timed. The file is the RocksDB store's export. Every phase ends by
/// checking the node's count and root against the in-memory node's; the harness exits 1 if one differs.
/// </remarks>
internal static class DurableScaleHarness
{
    /// <summary>The first argument that selects this harness.</summary>
    public const string Command = "durable-scale";

    private const int Batch = 1024;

    /// <summary>Runs the harness and prints the table.</summary>
    /// <param name="args">The arguments after <see cref="Command"/>.</param>
    /// <returns>The exit code: 0, 1 when a phase ended with the wrong set, 2 for a bad command line.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        int[] counts = [1_000_000, 10_000_000];
        bool parsed = HarnessSupport.TryParseArguments(
            args,
            $"{Command} [--counts 1000000,10000000]",
            (name, value) => counts = name == "--counts"
                ? value.Split(',').Select(v => HarnessSupport.Count(name, v)).ToArray()
                : throw HarnessSupport.UnknownArgument(name));
        if (!parsed)
        {
            return 2;
        }

        Console.WriteLine("## The RocksDB store at scale, beside the in-memory store");
        Console.WriteLine();
        Console.WriteLine(HarnessSupport.MachineLine());
        Console.WriteLine($"Load average at start: {HarnessSupport.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| assertions | IngestManyAsync, memory /s | IngestManyAsync, RocksDB /s | ratio | import, memory /s | import, RocksDB /s | ratio | restart s | disk B/assertion | checked |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|");
        bool ok = true;
        var rates = new List<(int Count, double Ingest, double Import)>();
        foreach (int count in counts)
        {
            string directory = Path.Combine(Path.GetTempPath(), "stemedb-durable-scale-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            try
            {
                // In memory: the reference set (count and root) and the rate.
                AssertionHash root;
                double memoryIngest;
                await using (SyncNode memory = await HarnessSupport.StartQuietNodeAsync(new InMemoryAssertionStore()))
                {
                    memoryIngest = count / await IngestAsync(memory, count);
                    root = memory.Root;
                    ok &= memory.Count == count;
                }

                Collect();
                string ingested = Path.Combine(directory, "ingested");
                string file = Path.Combine(directory, "assertions.stream");
                double rocksIngest;
                await using (RocksDbAssertionStore store = RocksDbAssertionStore.Open(ingested))
                {
                    await using SyncNode node = await HarnessSupport.StartQuietNodeAsync(store);
                    rocksIngest = count / await IngestAsync(node, count);
                    ok &= node.Count == count && node.Root == root;
                    await using FileStream output = File.Create(file);
                    await AssertionStream.ExportAsync(store, output);
                }

                Collect();
                double memoryImport = count / await ImportAsync(new InMemoryAssertionStore(), file, count, root, r => ok &= r);
                Collect();
                string imported = Path.Combine(directory, "imported");
                double rocksImport;
                await using (RocksDbAssertionStore store = RocksDbAssertionStore.Open(imported))
                {
                    rocksImport = count / await ImportAsync(store, file, count, root, r => ok &= r);
                }

                Collect();
                long disk = new DirectoryInfo(imported).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
                long restartStart = Stopwatch.GetTimestamp();
                double restart;
                await using (RocksDbAssertionStore reopened = RocksDbAssertionStore.Open(imported))
                {
                    await using SyncNode node = await HarnessSupport.StartQuietNodeAsync(reopened);
                    restart = Stopwatch.GetElapsedTime(restartStart).TotalSeconds;
                    bool same = node.Count == count && node.Root == root;
                    ok &= same;
                    Console.WriteLine(HarnessSupport.Invariant(
                        $"| {count:N0} | {memoryIngest:N0} | {rocksIngest:N0} | {HarnessSupport.Percent(rocksIngest / memoryIngest)} | {memoryImport:N0} | {rocksImport:N0} | {HarnessSupport.Percent(rocksImport / memoryImport)} | {restart:F2} | {disk / (double)count:F0} | {(same ? "yes" : "**NO**")} |"));
                }

                rates.Add((count, rocksIngest, rocksImport));
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        Console.WriteLine();
        if (rates.Count > 1)
        {
            (int first, double ingest, double import) = rates[0];
            (int last, double lastIngest, double lastImport) = rates[^1];
            Console.WriteLine(HarnessSupport.Invariant(
                $"RocksDB at {last:N0} / at {first:N0}: IngestManyAsync {HarnessSupport.Percent(lastIngest / ingest)}, import {HarnessSupport.Percent(lastImport / import)} (target at least 50%)."));
        }

        Console.WriteLine($"Load average at end: {HarnessSupport.LoadAverage()}");
        if (!ok)
        {
            Console.Error.WriteLine("A phase ended with a set other than the in-memory node's.");
        }

        return ok ? 0 : 1;
    }

    /// <summary>Ingests <paramref name="count"/> assertions 1,024 per call, made as it goes; returns the seconds inside the calls.</summary>
    private static async Task<double> IngestAsync(SyncNode node, int count)
    {
        var writer = new ArrayBufferWriter<byte>(Batch * 256);
        var offsets = new int[Batch + 1];
        var slices = new ReadOnlyMemory<byte>[Batch];
        NodeId author = NodeId.Parse("0123456789abcdef0123456789abcdef");
        string[] tags = ["source:import", "batch:bench"];
        double seconds = 0;
        for (int start = 0; start < count; start += Batch)
        {
            int n = Math.Min(Batch, count - start);
            writer.ResetWrittenCount();
            for (int i = 0; i < n; i++)
            {
                int id = start + i;
                var assertion = new Assertion($"user:{id}", "email", AssertionValue.FromText($"user{id}@example.com"), new HlcTimestamp(1_700_000_000_000 + (ulong)id, 0, author), author, tags: tags);
                AssertionCodec.Encode(assertion, writer);
                offsets[i + 1] = writer.WrittenCount;
            }

            ReadOnlyMemory<byte> written = writer.WrittenMemory;
            for (int i = 0; i < n; i++)
            {
                slices[i] = written[offsets[i]..offsets[i + 1]];
            }

            long callStart = Stopwatch.GetTimestamp();
            await node.IngestManyAsync(n == Batch ? slices : slices[..n]);
            seconds += Stopwatch.GetElapsedTime(callStart).TotalSeconds;
        }

        return seconds;
    }

    /// <summary>Imports the file into a node over <paramref name="store"/>; returns the seconds the import took and reports whether the set is right.</summary>
    private static async Task<double> ImportAsync(IAssertionStore store, string file, int count, AssertionHash root, Action<bool> check)
    {
        await using SyncNode node = await HarnessSupport.StartQuietNodeAsync(store);
        await using FileStream input = File.OpenRead(file);
        long start = Stopwatch.GetTimestamp();
        await AssertionStream.ImportAsync(input, node);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        check(node.Count == count && node.Root == root);
        return seconds;
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

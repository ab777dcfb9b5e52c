using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// <see cref="AssertionStream.ImportAsync(Stream, SyncNode, IProgress{AssertionStreamProgress}?, CancellationToken)"/>
/// from memory as a share of <see cref="SyncNode.IngestManyAsync"/> of the same assertions, interleaved so that both see
/// the same machine noise. Run: <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- import-ratio
/// [--rounds 5] [--count 1000000]</c>.
/// </summary>
/// <remarks>
/// The assertions are <see cref="IngestCorpus"/>'s, exported once from a node into a stream in memory before the timing.
/// A round is one block of each variant into a fresh node over the in-memory store (rkyv content validator, no gossip,
/// no background loops), the order alternating from round to round; a block ends by reading the node's root, which must
/// equal the source's. Between blocks, outside the timing, a full collection runs, so that no block pays for the
/// garbage of another. The ratio is taken within each round and reported as the median of the rounds.
/// </remarks>
internal static class ImportRatioHarness
{
    /// <summary>The first argument that selects this harness.</summary>
    public const string Command = "import-ratio";

    /// <summary>Runs the harness and prints the results.</summary>
    /// <param name="args">The arguments after <see cref="Command"/>.</param>
    /// <returns>The exit code: 0, 1 when a block ended with the wrong root, 2 for a bad command line.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = 5;
        int count = 1_000_000;
        bool parsed = HarnessSupport.TryParseArguments(args, $"{Command} [--rounds 5] [--count 1000000]", (name, value) =>
        {
            switch (name)
            {
                case "--rounds": rounds = HarnessSupport.Count(name, value); break;
                case "--count": count = HarnessSupport.Count(name, value); break;
                default: throw HarnessSupport.UnknownArgument(name);
            }
        });
        if (!parsed)
        {
            return 2;
        }

        (byte[] buffer, int[] offsets) = IngestCorpus.Create(count);
        ReadOnlyMemory<byte>[] corpus = IngestCorpus.Slices(buffer, offsets);

        byte[] stream;
        AssertionHash root;
        var sourceStore = new InMemoryAssertionStore();
        await using (SyncNode source = await HarnessSupport.StartQuietNodeAsync(sourceStore))
        {
            await HarnessSupport.IngestInBatchesAsync(source, corpus);
            root = source.Root;
            var memory = new MemoryStream();
            await AssertionStream.ExportAsync(sourceStore, memory);
            stream = memory.ToArray();
        }

        sourceStore = null;
        Console.WriteLine("## Import from memory vs IngestManyAsync, interleaved");
        Console.WriteLine();
        Console.WriteLine(HarnessSupport.Invariant($"{rounds} rounds of {count:N0} assertions ({buffer.Length / (double)count:F1} bytes on average; a stream of {stream.Length:N0} bytes)."));
        Console.WriteLine(HarnessSupport.MachineLine());
        Console.WriteLine($"Load average at start: {HarnessSupport.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| round | import ms | IngestManyAsync ms | import / IngestManyAsync (rate) |");
        Console.WriteLine("|---:|---:|---:|---:|");
        var ratios = new List<double>();
        bool ok = true;
        for (int round = 0; round < rounds; round++)
        {
            double import = 0, ingest = 0;
            for (int k = 0; k < 2; k++)
            {
                bool importing = (round + k) % 2 == 0;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                await using SyncNode node = await HarnessSupport.StartQuietNodeAsync(new InMemoryAssertionStore());
                long start = Stopwatch.GetTimestamp();
                if (importing)
                {
                    await AssertionStream.ImportAsync(new MemoryStream(stream, writable: false), node);
                }
                else
                {
                    await HarnessSupport.IngestInBatchesAsync(node, corpus);
                }

                ok &= node.Root == root;
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (importing)
                {
                    import = ms;
                }
                else
                {
                    ingest = ms;
                }
            }

            ratios.Add(ingest / import);
            Console.WriteLine(HarnessSupport.Invariant($"| {round + 1} | {import:N0} | {ingest:N0} | {HarnessSupport.Percent(ingest / import)} |"));
        }

        Console.WriteLine();
        double median = HarnessSupport.Median(ratios);
        Console.WriteLine(HarnessSupport.Invariant(
            $"Import from memory / IngestManyAsync: median {HarnessSupport.Percent(median)} (target at least 80%: {(median >= 0.8 ? "met" : "not met")})."));
        Console.WriteLine($"Load average at end: {HarnessSupport.LoadAverage()}");
        if (!ok)
        {
            Console.Error.WriteLine("A block ended with a root other than the source's.");
        }

        return ok ? 0 : 1;
    }
}

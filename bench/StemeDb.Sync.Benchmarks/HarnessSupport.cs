using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Benchmarks;

/// <summary>Argument parsing, statistics and machine notes shared by the interleaved harnesses.</summary>
internal static class HarnessSupport
{
    public static int Count(string name, string value, bool allowZero = false) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && (n > 0 || allowZero)
            ? n
            : throw new FormatException($"{name} needs a {(allowZero ? "non-negative" : "positive")} whole number; got '{value}'.");

    public static double Median(List<double> values)
    {
        double[] sorted = [.. values];
        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static string Percent(double ratio, string format = "F0") => (ratio * 100).ToString(format, CultureInfo.InvariantCulture) + "%";

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static string GcMode() =>
        (GCSettings.IsServerGC ? "server" : "workstation")
        + (GCSettings.LatencyMode == GCLatencyMode.Batch ? ", non-concurrent" : ", concurrent")
        + $" ({GCSettings.LatencyMode})";

    public static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a (no /proc/loadavg)";
        }
        catch (IOException ex)
        {
            return $"n/a ({ex.Message})";
        }
    }

    /// <summary>
    /// The page faults this process has taken that needed no disk (minor faults: mostly pages touched for the first
    /// time, which the kernel must zero and, in a virtual machine, its host must back), from /proc/self/stat; -1 where
    /// that file is missing or unreadable.
    /// </summary>
    public static long MinorPageFaults()
    {
        try
        {
            // The fields after the command name (in parentheses, which may hold spaces): state is the 3rd field, minflt the 10th.
            string stat = File.ReadAllText("/proc/self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>The "Machine:" line both harnesses print: processors, runtime, OS and GC mode.</summary>
    public static string MachineLine() => Invariant(
        $"Machine: {Environment.ProcessorCount} processors, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}, GC: {GcMode()}.");

    /// <summary>
    /// Reads <c>--name value</c> pairs, and the names in <paramref name="flags"/> alone (handed an empty value), handing each to <paramref name="apply"/> (which throws <see cref="FormatException"/>
    /// for a name it does not know or a bad value). On a bad command line prints the error and <paramref name="usage"/> to
    /// standard error and returns <see langword="false"/>; on a good one in a Debug build, warns that figures need a
    /// Release build.
    /// </summary>
    public static bool TryParseArguments(string[] args, string usage, Action<string, string> apply, string[]? flags = null)
    {
        try
        {
            for (int i = 0; i < args.Length; i += 2)
            {
                if (flags is not null && Array.IndexOf(flags, args[i]) >= 0)
                {
                    apply(args[i], string.Empty); // a flag takes no value
                    i--;
                    continue;
                }

                apply(args[i], i + 1 < args.Length ? args[i + 1] : throw new FormatException($"{args[i]} needs a value."));
            }

#if DEBUG
            Console.WriteLine("WARNING: a Debug build; run with -c Release.");
#endif
            return true;
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine($"Usage: {usage}");
            return false;
        }
    }

    /// <summary>The error for an argument a harness does not take.</summary>
    public static FormatException UnknownArgument(string name) => new($"Unknown argument {name}.");

    /// <summary>A node with the rkyv validator, no gossip and no background loops, started.</summary>
    public static async Task<SyncNode> StartQuietNodeAsync(IAssertionStore store)
    {
        var node = new SyncNode(
            new SyncNodeOptions
            {
                AntiEntropyInterval = Timeout.InfiniteTimeSpan,
                GossipFanout = 0,
                ContentValidator = RkyvAssertionValidator.Instance,
                RunBackgroundLoops = false,
            },
            store);
        await node.StartAsync();
        return node;
    }

    /// <summary>Ingests the assertions with <see cref="SyncNode.IngestManyAsync"/>, 1,024 per call (an import's batch).</summary>
    public static async Task IngestInBatchesAsync(SyncNode node, ReadOnlyMemory<byte>[] assertions)
    {
        const int batch = 1024;
        for (int i = 0; i < assertions.Length; i += batch)
        {
            await node.IngestManyAsync(assertions[i..Math.Min(assertions.Length, i + batch)]);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime;
using System.Runtime.InteropServices;

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

    /// <summary>The "Machine:" line both harnesses print: processors, runtime, OS and GC mode.</summary>
    public static string MachineLine() => Invariant(
        $"Machine: {Environment.ProcessorCount} processors, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}, GC: {GcMode()}.");
}

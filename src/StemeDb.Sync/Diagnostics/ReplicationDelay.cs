using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace StemeDb.Sync;

/// <summary>
/// The replication-delay histogram: seconds from an assertion's own HLC time to its arrival on this node, for every
/// assertion new here that a peer delivered (tag <c>path</c>: gossip, fetch or stream). Records stamped on arrival (a v1
/// peer sends no timestamp) and imported ones are not measured. A clock behind the writer's gives 0, never less.
/// </summary>
internal static class ReplicationDelay
{
    /// <summary>Bucket bounds (seconds) from milliseconds of live gossip to a day-old catch-up.</summary>
    private static readonly double[] Buckets =
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

    public static readonly Histogram<double> Histogram = SyncDiagnostics.Meter.CreateHistogram<double>(
        "stemedb.sync.replication.delay",
        "s",
        "Seconds from an assertion's HLC time to its arrival on this node, for assertions new here (tag: path).",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });

    public static readonly KeyValuePair<string, object?> Gossip = SyncDiagnostics.Tag("path", "gossip");

    public static readonly KeyValuePair<string, object?> Fetch = SyncDiagnostics.Tag("path", "fetch");

    public static readonly KeyValuePair<string, object?> Stream = SyncDiagnostics.Tag("path", "stream");

    /// <summary>Whether anything listens (measuring costs a clock read per batch and a record per assertion).</summary>
    public static bool Enabled => Histogram.Enabled;

    /// <summary>Records the delay of an assertion stamped <paramref name="timestamp"/> that arrived at <paramref name="nowMs"/> (Unix milliseconds).</summary>
    public static void Record(long nowMs, HlcTimestamp timestamp, KeyValuePair<string, object?> path)
    {
        long delayMs = nowMs - (long)System.Math.Min(timestamp.Time, long.MaxValue);
        Histogram.Record(delayMs > 0 ? delayMs / 1000.0 : 0, path);
    }
}

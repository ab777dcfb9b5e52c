using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StemeDb.Sync;

/// <summary>The library's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, and its instruments.</summary>
internal static class SyncDiagnostics
{
    public static readonly ActivitySource ActivitySource = new(SyncTelemetry.ActivitySourceName);

    public static readonly Meter Meter = new(SyncTelemetry.MeterName);

    /// <summary>Assertions added to the local store by local ingest.</summary>
    public static readonly Counter<long> Ingested = Meter.CreateCounter<long>(
        "stemedb.sync.ingested", "{assertion}", "Assertions added by local ingest.");

    /// <summary>Gossip pushes a peer accepted.</summary>
    public static readonly Counter<long> GossipSent = Meter.CreateCounter<long>(
        "stemedb.sync.gossip.sent", "{assertion}", "Gossip pushes accepted by a peer.");

    /// <summary>Gossip pushes received and accepted (tag <c>new</c>: whether the assertion was new).</summary>
    public static readonly Counter<long> GossipReceived = Meter.CreateCounter<long>(
        "stemedb.sync.gossip.received", "{assertion}", "Gossip pushes received and accepted.");

    /// <summary>Gossip pushes received and rejected by verification.</summary>
    public static readonly Counter<long> GossipRejected = Meter.CreateCounter<long>(
        "stemedb.sync.gossip.rejected", "{assertion}", "Gossip pushes received and rejected.");

    /// <summary>Outgoing gossip given up (tag <c>reason</c>: queue_full, retries_exhausted, peer_rejected, not_retryable).</summary>
    public static readonly Counter<long> GossipDropped = Meter.CreateCounter<long>(
        "stemedb.sync.gossip.dropped", "{assertion}", "Outgoing gossip given up; anti-entropy catches up.");

    /// <summary>Outgoing gossip attempts that failed and may be retried.</summary>
    public static readonly Counter<long> GossipSendFailures = Meter.CreateCounter<long>(
        "stemedb.sync.gossip.send_failures", "{attempt}", "Failed gossip send attempts.");

    /// <summary>Fetch requests sent to peers during anti-entropy.</summary>
    public static readonly Counter<long> FetchRequests = Meter.CreateCounter<long>(
        "stemedb.sync.fetch.requests", "{request}", "Fetch requests sent to peers.");

    /// <summary>Assertions fetched from peers and stored.</summary>
    public static readonly Counter<long> FetchedAssertions = Meter.CreateCounter<long>(
        "stemedb.sync.fetch.assertions", "{assertion}", "Assertions fetched from peers and stored.");

    /// <summary>Fetched assertions rejected by verification.</summary>
    public static readonly Counter<long> FetchRejected = Meter.CreateCounter<long>(
        "stemedb.sync.fetch.rejected", "{assertion}", "Fetched assertions rejected by verification.");

    /// <summary>Anti-entropy passes (tag <c>result</c>: match, synced, failed).</summary>
    public static readonly Counter<long> AntiEntropyRounds = Meter.CreateCounter<long>(
        "stemedb.sync.anti_entropy.rounds", "{round}", "Anti-entropy passes with a peer.");

    /// <summary>Assertion bytes sent to peers (tag <c>kind</c>: gossip, fetch, push).</summary>
    public static readonly Counter<long> BytesSent = Meter.CreateCounter<long>(
        "stemedb.sync.bytes.sent", "By", "Assertion bytes sent to peers.");

    /// <summary>Assertion bytes received from peers and stored (tag <c>kind</c>: gossip, fetch).</summary>
    public static readonly Counter<long> BytesReceived = Meter.CreateCounter<long>(
        "stemedb.sync.bytes.received", "By", "Assertion bytes received from peers and stored.");

    /// <summary>Calls the server refused before they reached the handler: the peer guard's limits, or the authorizer.</summary>
    public static readonly Counter<long> CallsRefused = Meter.CreateCounter<long>(
        "stemedb.sync.server.refused", "{call}", "Calls refused before the handler, by the peer guard or the authorizer (tags: rpc, reason).");

    /// <summary>Hashes announced on lazy broadcast links (tag <c>direction</c>: sent or received).</summary>
    public static readonly Counter<long> BroadcastAnnounced = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.announced", "{hash}", "Hashes announced on lazy broadcast links, sent or received (tag: direction).");

    /// <summary>Announced hashes asked for (tag <c>direction</c>: sent, asked of an announcer; received, asked of this node).</summary>
    public static readonly Counter<long> BroadcastWanted = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.wanted", "{hash}", "Announced hashes asked for, by this node or of it (tag: direction).");

    /// <summary>Announced hashes not asked for because the node already waited for too many.</summary>
    public static readonly Counter<long> BroadcastWantsSkipped = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.wants_skipped", "{hash}", "Announced hashes not asked for because the node already waited for too many.");

    /// <summary>Links made eager because the peer asked for an announced hash (grafts).</summary>
    public static readonly Counter<long> BroadcastGrafts = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.grafts", "{link}", "Lazy broadcast links made eager because the peer asked for an announced hash.");

    /// <summary>Links made lazy because the peer already held every payload pushed (prunes; tag <c>reason</c>).</summary>
    public static readonly Counter<long> BroadcastPrunes = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.prunes", "{link}", "Eager broadcast links made lazy: the peer held every payload pushed, or could not be reached (tag: reason).");

    /// <summary>How long anti-entropy passes take (tag <c>result</c>: match, unchanged, synced, failed).</summary>
    public static readonly Histogram<double> PassDuration = Meter.CreateHistogram<double>(
        "stemedb.sync.anti_entropy.duration",
        "s",
        "Duration of anti-entropy passes with a peer (tag: result).",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });

    public static KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);
}

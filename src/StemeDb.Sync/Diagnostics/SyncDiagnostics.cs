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

    /// <summary>Grafts: hashes asked for from an announcer, whose link became eager.</summary>
    public static readonly Counter<long> BroadcastGrafted = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.grafted", "{hash}", "Announced hashes still missing after the graft timeout and asked for from an announcer.");

    /// <summary>Prunes: broadcast links made lazy because a payload arrived twice (tag <c>side</c>: local or remote).</summary>
    public static readonly Counter<long> BroadcastPruned = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.pruned", "{link}", "Broadcast links made lazy after a duplicate payload (tag: side).");

    /// <summary>Announced hashes not remembered because the node already tracks the most missing hashes it may.</summary>
    public static readonly Counter<long> BroadcastAnnouncementsIgnored = Meter.CreateCounter<long>(
        "stemedb.sync.broadcast.announcements_ignored", "{hash}", "Announced hashes ignored because too many were missing already.");

    public static KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);
}

using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace StemeDb.Sync;

/// <summary>
/// The library's gauges, observed from every running node of the process when a listener collects them (tag
/// <c>node</c>: the node's id): per node its assertion count and gossip queue; per peer (tag <c>peer</c>) the estimated
/// number of assertions the peer holds that the node lacks, the seconds since the last successful pass, and per state
/// the number of peers in it.
/// </summary>
internal static class NodeGauges
{
    private static readonly object Gate = new();
    private static SyncNode[] _nodes = [];

    static NodeGauges()
    {
        Meter meter = SyncDiagnostics.Meter;
        meter.CreateObservableGauge("stemedb.sync.assertions", ObserveCount, "{assertion}", "Assertions the node holds.");
        meter.CreateObservableGauge("stemedb.sync.gossip.queue", ObserveQueue, "{assertion}", "Assertions queued for gossip and not yet sent.");
        meter.CreateObservableGauge("stemedb.sync.peer.missing", ObserveMissing, "{assertion}", "Assertions the peer holds that the node lacks, as of the last pass: exact after a complete comparison, otherwise estimated from the counts (tag: peer).");
        meter.CreateObservableGauge("stemedb.sync.peer.since_last_sync", ObserveSinceSuccess, "s", "Seconds since the last successful pass with the peer, or since the node started when none succeeded (tag: peer).");
        meter.CreateObservableGauge("stemedb.sync.peers", ObservePeers, "{peer}", "Peers of the node by the state the last pass left (tag: state).");
    }

    /// <summary>Observes <paramref name="node"/> from now on (idempotent).</summary>
    public static void Add(SyncNode node)
    {
        lock (Gate)
        {
            if (Array.IndexOf(_nodes, node) < 0)
            {
                _nodes = [.. _nodes, node];
            }
        }
    }

    /// <summary>Stops observing <paramref name="node"/>.</summary>
    public static void Remove(SyncNode node)
    {
        lock (Gate)
        {
            _nodes = Array.FindAll(_nodes, n => !ReferenceEquals(n, node));
        }
    }

    private static SyncNode[] Nodes => System.Threading.Volatile.Read(ref _nodes);

    private static KeyValuePair<string, object?> NodeTag(SyncNode node) => SyncDiagnostics.Tag("node", node.NodeId.ToString());

    private static IEnumerable<Measurement<long>> ObserveCount()
    {
        foreach (SyncNode node in Nodes)
        {
            yield return new Measurement<long>(node.Count, NodeTag(node));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveQueue()
    {
        foreach (SyncNode node in Nodes)
        {
            yield return new Measurement<long>(node.PendingGossipCount, NodeTag(node));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveMissing()
    {
        foreach (SyncNode node in Nodes)
        {
            foreach (SyncPeerStatus peer in node.GetStatus().Peers)
            {
                yield return new Measurement<long>(peer.Missing, NodeTag(node), SyncDiagnostics.Tag("peer", peer.Name));
            }
        }
    }

    private static IEnumerable<Measurement<double>> ObserveSinceSuccess()
    {
        foreach (SyncNode node in Nodes)
        {
            SyncNodeStatus status = node.GetStatus();
            foreach (SyncPeerStatus peer in status.Peers)
            {
                DateTimeOffset since = peer.LastSuccessAt ?? node.StartedAt;
                double seconds = Math.Max(0, (status.At - since).TotalSeconds);
                yield return new Measurement<double>(seconds, NodeTag(node), SyncDiagnostics.Tag("peer", peer.Name));
            }
        }
    }

    private static IEnumerable<Measurement<long>> ObservePeers()
    {
        foreach (SyncNode node in Nodes)
        {
            var counts = new long[(int)SyncPeerState.Failing + 1];
            foreach (SyncPeerStatus peer in node.GetStatus().Peers)
            {
                counts[(int)peer.State]++;
            }

            for (int state = 0; state < counts.Length; state++)
            {
                yield return new Measurement<long>(counts[state], NodeTag(node), SyncDiagnostics.Tag("state", StatusNames.State((SyncPeerState)state)));
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// The node's sync health from its status: degraded when it has peers and none is reachable, or when a peer has been
/// out of sync for longer than the limit. When a peer went out of sync is remembered from one check to the next (the
/// check is a singleton of its registration), counted from the first check that saw it so.
/// </summary>
internal sealed class SyncNodeHealthCheck : IHealthCheck
{
    private readonly SyncNode _node;
    private readonly TimeSpan _behindFor;
    private readonly Dictionary<string, DateTimeOffset> _outOfSyncSince = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public SyncNodeHealthCheck(SyncNode node, TimeSpan behindFor)
    {
        _node = node;
        _behindFor = behindFor;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        SyncNodeStatus status = _node.GetStatus();
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["count"] = status.Count,
        };
        string? stale = null;
        TimeSpan staleFor = TimeSpan.Zero;
        lock (_gate)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (SyncPeerStatus peer in status.Peers)
            {
                seen.Add(peer.Name);
                data[peer.Name] = $"{peer.State}, missing {peer.Missing}";
                if (peer.State == SyncPeerState.InSync)
                {
                    _outOfSyncSince.Remove(peer.Name);
                    continue;
                }

                if (!_outOfSyncSince.TryGetValue(peer.Name, out DateTimeOffset since))
                {
                    _outOfSyncSince[peer.Name] = since = status.At;
                }

                TimeSpan outFor = status.At - since;
                if (outFor > _behindFor && outFor > staleFor)
                {
                    stale = peer.Name;
                    staleFor = outFor;
                }
            }

            foreach (string gone in _outOfSyncSince.Keys.Where(name => !seen.Contains(name)).ToList())
            {
                _outOfSyncSince.Remove(gone);
            }
        }

        if (status.Peers.Count > 0 && status.Peers.All(p => p.State is SyncPeerState.Unreachable or SyncPeerState.Failing))
        {
            return Task.FromResult(HealthCheckResult.Degraded($"No peer is reachable: the last pass with each of the {status.Peers.Count} peers failed.", data: data));
        }

        if (stale is not null)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"Peer {stale} has been out of sync for {staleFor.TotalSeconds:0} s (the limit is {_behindFor.TotalSeconds:0} s).", data: data));
        }

        return Task.FromResult(HealthCheckResult.Healthy($"{status.Count} assertions; {status.Peers.Count(p => p.State == SyncPeerState.InSync)} of {status.Peers.Count} peers in sync.", data));
    }
}

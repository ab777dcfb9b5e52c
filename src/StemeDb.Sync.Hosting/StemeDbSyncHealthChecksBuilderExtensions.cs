using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting;

/// <summary>Registers the node's sync health check with ASP.NET Core health checks (<c>services.AddHealthChecks()</c>).</summary>
public static class StemeDbSyncHealthChecksBuilderExtensions
{
    /// <summary>The default of how long a peer may stay out of sync before the node reports itself degraded: 5 minutes.</summary>
    public static readonly TimeSpan DefaultBehindFor = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Adds a health check of the node registered with <c>AddStemeDbSync</c>: <see cref="HealthStatus.Degraded"/> when the
    /// node has peers and the last pass with every one of them failed (no peer is reachable), or when a peer has stayed
    /// out of sync (<see cref="SyncPeerState"/> other than <see cref="SyncPeerState.InSync"/>) for longer than
    /// <paramref name="behindFor"/>; otherwise <see cref="HealthStatus.Healthy"/>. The node still serves while degraded, so
    /// the check never reports <see cref="HealthStatus.Unhealthy"/>. The result's data holds each peer's state and
    /// missing count.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="behindFor">How long a peer may stay out of sync; <see cref="DefaultBehindFor"/> when <see langword="null"/>.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="tags">Tags to filter checks by (a readiness endpoint, say).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="behindFor"/> is not positive.</exception>
    public static IHealthChecksBuilder AddStemeDbSync(this IHealthChecksBuilder builder, TimeSpan? behindFor = null, string name = "stemedb-sync", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        TimeSpan limit = behindFor ?? DefaultBehindFor;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero, nameof(behindFor));
        // One check per registration: it remembers since when each peer is out of sync (the service asks the factory on every run).
        SyncNodeHealthCheck? check = null;
        return builder.Add(new HealthCheckRegistration(
            name,
            services => LazyInitializer.EnsureInitialized(ref check, () => new SyncNodeHealthCheck(services.GetRequiredService<SyncNode>(), limit)),
            failureStatus: HealthStatus.Degraded,
            tags));
    }
}

using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting;

/// <summary>Further configuration of the node registered by <c>services.AddStemeDbSync(...)</c>.</summary>
public sealed class StemeDbSyncBuilder
{
    internal StemeDbSyncBuilder(IServiceCollection services)
    {
        Services = services;
    }

    /// <summary>The service collection the node is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Replaces the default <see cref="InMemoryAssertionStore"/> with the host's store. The container owns the store:
    /// it is created once, on first use, and disposed with the container.
    /// </summary>
    /// <param name="factory">Creates the store, e.g. <c>_ =&gt; SqliteAssertionStore.Open("data/assertions.db")</c>.</param>
    /// <returns>This builder.</returns>
    public StemeDbSyncBuilder UseStore(Func<IServiceProvider, IAssertionStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Replaces the default store with an instance the host owns (and disposes).</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public StemeDbSyncBuilder UseStore(IAssertionStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        Services.Replace(ServiceDescriptor.Singleton(store));
        return this;
    }

    /// <summary>
    /// Adjusts the engine settings (for example the node id, the anti-entropy interval, the content validator or the
    /// gossip queue size), after any binding from configuration registered before. The result is validated with
    /// <see cref="SyncNodeOptions.Validate"/> when the host starts.
    /// </summary>
    /// <param name="configure">Changes the settings.</param>
    /// <returns>This builder.</returns>
    public StemeDbSyncBuilder ConfigureNode(Action<SyncNodeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    /// <summary>
    /// Adjusts how the node connects to each peer listed in <see cref="StemeDbSyncOptions.Peers"/>: credentials for
    /// outgoing calls (an <see cref="GrpcSyncPeerOptions.HttpHandler"/> that adds a header, or that presents a client
    /// certificate and trusts the peers' CA), message size limits. Runs once per peer when the host starts, in the order
    /// registered, on fresh options.
    /// </summary>
    /// <param name="configure">Changes the options of the peer at the given address.</param>
    /// <returns>This builder.</returns>
    /// <example>
    /// <code>
    /// .ConfigurePeers((_, peer) => peer.Headers["x-api-key"] = apiKey);
    /// </code>
    /// </example>
    public StemeDbSyncBuilder ConfigurePeers(Action<Uri, GrpcSyncPeerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.AddSingleton(new PeerConfiguration(configure));
        return this;
    }
}

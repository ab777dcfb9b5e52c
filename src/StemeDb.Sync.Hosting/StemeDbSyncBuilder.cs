using System;
using System.IO;
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
        NodeIdFromDirectory.Remove(Services);
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Replaces the default store with an instance the host owns (and disposes).</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public StemeDbSyncBuilder UseStore(IAssertionStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        NodeIdFromDirectory.Remove(Services);
        Services.Replace(ServiceDescriptor.Singleton(store));
        return this;
    }

    /// <summary>
    /// Keeps the node's data in <paramref name="directory"/> (created if missing): the store that
    /// <paramref name="openStore"/> opens there, and the node's id in the file <c>node-id</c> beside it, so that a node
    /// restarted over the same store keeps its id. The id is made on the first start (written to a temporary file and
    /// renamed, readable by its owner only on Unix) and read on every later one; a <c>node-id</c> file that holds no id
    /// fails the start, naming the file, instead of giving the store a new id. A
    /// <see cref="SyncNodeOptions.NodeId"/> set in configuration or with <see cref="ConfigureNode"/> takes precedence
    /// over the file. The container owns the store, as with <see cref="UseStore(Func{IServiceProvider, IAssertionStore})"/>.
    /// </summary>
    /// <remarks>
    /// With a SQLite store named <c>assertions.db</c>, the directory has the layout of <c>stemedb-sync serve --data</c>,
    /// so the tool's <c>export --data</c> and <c>import --data</c> work on it while the host is stopped.
    /// </remarks>
    /// <param name="directory">The data directory; a relative path is resolved against the current directory now.</param>
    /// <param name="openStore">Opens the store, given the directory's full path.</param>
    /// <returns>This builder.</returns>
    /// <example>
    /// <code>
    /// .UseStore("data", directory => SqliteAssertionStore.Open(Path.Combine(directory, "assertions.db")));
    /// </code>
    /// </example>
    public StemeDbSyncBuilder UseStore(string directory, Func<string, IAssertionStore> openStore)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(openStore);
        string fullPath = Path.GetFullPath(directory);
        NodeIdFromDirectory.Remove(Services);
        NodeIdFromDirectory.Add(Services, fullPath);
        Services.Replace(ServiceDescriptor.Singleton<IAssertionStore>(_ =>
        {
            Directory.CreateDirectory(fullPath);
            return openStore(fullPath);
        }));
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

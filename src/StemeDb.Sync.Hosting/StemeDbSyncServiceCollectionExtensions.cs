using System;
using System.Diagnostics.CodeAnalysis;
using Grpc.HealthCheck;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StemeDb.Sync;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Hosting;
using StemeDb.Sync.Hosting.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a StemeDb.Sync node in a Microsoft.Extensions host.</summary>
public static class StemeDbSyncServiceCollectionExtensions
{
    /// <summary>
    /// Registers a replicating node: <see cref="SyncNode"/> (with its hybrid logical clock), its store
    /// (<see cref="InMemoryAssertionStore"/> unless the host chooses another with <see cref="StemeDbSyncBuilder.UseStore(Func{IServiceProvider, IAssertionStore})"/>
    /// or registered an <see cref="IAssertionStore"/> before), <see cref="ISyncRequestHandler"/>, the
    /// <see cref="SyncServer"/> the gRPC service serves through (with a <see cref="PeerGuard"/> with default limits
    /// unless the host registered one, and the <see cref="ISyncCallAuthorizer"/> when the host registered one),
    /// gRPC peers from <see cref="StemeDbSyncOptions.Peers"/>, a hosted service that starts the node (rebuilding its
    /// index from the store) and runs gossip and anti-entropy, and the gRPC health service
    /// (<see cref="HealthServiceImpl"/>), which reports <c>SERVING</c> while the node runs.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The engine settings are <see cref="SyncNodeOptions"/>, with the core's defaults; adjust them with
    /// <see cref="StemeDbSyncBuilder.ConfigureNode"/>, or bind them from configuration with
    /// <see cref="AddStemeDbSync(IServiceCollection, IConfiguration)"/>. Both option sets are validated when the host
    /// starts (the engine settings by <see cref="SyncNodeOptions.Validate"/>), with messages naming the setting.
    /// </para>
    /// <para>
    /// To serve the node over ASP.NET Core gRPC, call <c>app.MapStemeDbSync()</c> (package StemeDb.Sync.AspNetCore),
    /// or map the two services yourself: <c>app.MapGrpcService&lt;SyncServiceImpl&gt;(); app.MapGrpcService&lt;HealthServiceImpl&gt;();</c>
    /// </para>
    /// <para>
    /// The node (and a SQLite store) are asynchronously disposable: dispose the service provider with
    /// <c>DisposeAsync</c>, as the generic host does.
    /// </para>
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the hosting options (the peers); may be <see langword="null"/> when they come from configuration.</param>
    /// <returns>A builder to choose the store and adjust engine settings.</returns>
    [SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads", Justification = "The overloads differ by the type of their second parameter (a delegate or a configuration section), as in Microsoft.Extensions.")]
    public static StemeDbSyncBuilder AddStemeDbSync(this IServiceCollection services, Action<StemeDbSyncOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<StemeDbSyncOptions> options = services.AddOptions<StemeDbSyncOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Validated when the host starts, by the hosted service reading the options (not ValidateOnStart, which keeps an
        // IOptionsMonitor that throws on the thread that reloads the configuration when a reload fails validation; the
        // node's peer list logs and ignores such a reload instead).
        services.AddOptions<SyncNodeOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StemeDbSyncOptions>, StemeDbSyncOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SyncNodeOptions>, SyncNodeOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IAssertionStore, InMemoryAssertionStore>();
        services.TryAddSingleton(CreateNode);
        services.TryAddSingleton<ISyncRequestHandler>(sp => sp.GetRequiredService<SyncNode>().Handler);
        services.TryAddSingleton(sp => new PeerGuard(new PeerGuardOptions(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(CreateServer);
        services.TryAddSingleton(_ =>
        {
            var health = new HealthServiceImpl();
            StemeDbSyncHostedService.SetHealth(health, Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing);
            return health;
        });
        services.TryAddSingleton<IPeerNameResolver, SystemPeerNameResolver>();
        services.TryAddSingleton<ServedEndpoints>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StemeDbSyncHostedService>());
        return new StemeDbSyncBuilder(services);
    }

    /// <summary>
    /// Registers a replicating node whose options are bound from <paramref name="configuration"/> (usually the
    /// <see cref="StemeDbSyncOptions.SectionName"/> section): <c>Peers</c> onto <see cref="StemeDbSyncOptions"/>, and
    /// every engine setting (<c>NodeId</c>, <c>AntiEntropyInterval</c>, <c>GossipFanout</c>, <c>PeerCallTimeout</c>, …)
    /// onto the <see cref="SyncNodeOptions"/> property of the same name; settings not in the section keep the core's
    /// defaults. See <see cref="AddStemeDbSync(IServiceCollection, Action{StemeDbSyncOptions}?)"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section holding the options.</param>
    /// <returns>A builder to choose the store and adjust engine settings.</returns>
    public static StemeDbSyncBuilder AddStemeDbSync(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<StemeDbSyncOptions>().Bind(configuration);
        services.AddOptions<SyncNodeOptions>().Bind(configuration);
        return services.AddStemeDbSync(configure: null);
    }

    private static SyncServer CreateServer(IServiceProvider services)
    {
        ISyncCallAuthorizer? authorizer = services.GetService<ISyncCallAuthorizer>();
        if (services.GetRequiredService<IOptions<StemeDbSyncOptions>>().Value.TokenFile is { } tokenFile)
        {
            var token = new BearerTokenAuthorizer(SecretFiles.ReadToken(tokenFile));
            authorizer = authorizer is null ? token : new BothAuthorizers(token, authorizer);
        }

        return new SyncServer(
            services.GetRequiredService<ISyncRequestHandler>(),
            services.GetService<PeerGuard>(),
            authorizer,
            services.GetService<ILoggerFactory>()?.CreateLogger<SyncServer>(),
            services.GetService<TimeProvider>());
    }

    private static SyncNode CreateNode(IServiceProvider services)
    {
        SyncNodeOptions options = services.GetRequiredService<IOptions<SyncNodeOptions>>().Value;
        return new SyncNode(
            options,
            services.GetRequiredService<IAssertionStore>(),
            services.GetService<ILoggerFactory>(),
            services.GetRequiredService<TimeProvider>());
    }
}

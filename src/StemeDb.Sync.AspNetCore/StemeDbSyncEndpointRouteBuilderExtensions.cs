using System;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Sync;
using StemeDb.Sync.Grpc;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps a StemeDb.Sync node's gRPC services in an ASP.NET Core application.</summary>
public static class StemeDbSyncEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the node's sync service (<see cref="SyncServiceImpl"/>) and the gRPC health service
    /// (<c>grpc.health.v1.Health</c>, which reports <c>SERVING</c> while the node runs).
    /// </summary>
    /// <remarks>
    /// <para>
    /// Needs <c>services.AddGrpc()</c> and <c>services.AddStemeDbSync(...)</c>, which registers the node and the
    /// <see cref="SyncServer"/> the service serves through (its <see cref="PeerGuard"/>, the
    /// <see cref="ISyncCallAuthorizer"/> when one is registered, and logging). gRPC needs HTTP/2: over cleartext,
    /// the Kestrel endpoint must be configured with <c>Protocols = HttpProtocols.Http2</c> (its default is HTTP/1.1);
    /// over TLS the default (HTTP/1.1 and HTTP/2) works.
    /// </para>
    /// <para>
    /// The returned builder is the sync service's only, so that <c>RequireAuthorization()</c> on it leaves the health
    /// service open to probes.
    /// </para>
    /// </remarks>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns>The sync service's endpoint convention builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The services are not registered (<c>AddGrpc</c> or
    /// <c>AddStemeDbSync</c> was not called).</exception>
    public static GrpcServiceEndpointConventionBuilder MapStemeDbSync(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapStemeDbSync<SyncServiceImpl>();

    /// <summary>
    /// Maps a subclass of the node's sync service and the gRPC health service; see
    /// <see cref="MapStemeDbSync(IEndpointRouteBuilder)"/>.
    /// </summary>
    /// <remarks>
    /// ASP.NET Core creates <typeparamref name="TService"/> from the container, one per call, unless it is registered
    /// (a singleton serves every call). Give it a constructor that takes the <see cref="SyncServer"/> and passes it to
    /// the base, so that it keeps the guard, the authorizer and logging.
    /// </remarks>
    /// <typeparam name="TService">The service class.</typeparam>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns>The sync service's endpoint convention builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The services are not registered (<c>AddGrpc</c> or
    /// <c>AddStemeDbSync</c> was not called).</exception>
    public static GrpcServiceEndpointConventionBuilder MapStemeDbSync<TService>(this IEndpointRouteBuilder endpoints)
        where TService : SyncServiceImpl
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<SyncServer>() is null || endpoints.ServiceProvider.GetService<HealthServiceImpl>() is null)
        {
            throw new InvalidOperationException(
                "MapStemeDbSync needs the node's services: call services.AddStemeDbSync(...) (and services.AddGrpc()) before building the application.");
        }

        GrpcServiceEndpointConventionBuilder sync = endpoints.MapGrpcService<TService>();
        endpoints.MapGrpcService<HealthServiceImpl>();
        return sync;
    }
}

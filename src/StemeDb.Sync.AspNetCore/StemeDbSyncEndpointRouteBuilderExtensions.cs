using System;
using System.Threading.Tasks;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StemeDb.Sync;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Hosting;
using StemeDb.Sync.Hosting.Internal;

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
        endpoints.MapStemeDbSync<SyncServiceImpl>([]);

    /// <summary>
    /// Maps the node's sync service and the gRPC health service on the server's endpoints that listen on
    /// <paramref name="ports"/> only (every endpoint when none is given); see
    /// <see cref="MapStemeDbSync(IEndpointRouteBuilder)"/>.
    /// </summary>
    /// <remarks>
    /// The port is the one the connection arrived on (not the <c>Host</c> header, which the caller chooses): on another
    /// endpoint of the same application, such as a metrics port, a call to either service is answered HTTP 404 (gRPC
    /// <c>UNIMPLEMENTED</c>). The start-up check of who may call (<see cref="StemeDbSyncOptions.AllowUnauthenticatedCallers"/>)
    /// looks at these ports only.
    /// </remarks>
    /// <example>
    /// <code>
    /// builder.WebHost.ConfigureKestrel(k =>
    /// {
    ///     k.ListenAnyIP(5000, listen => listen.UseStemeDbSyncTls()); // the sync service, mutual TLS
    ///     k.ListenAnyIP(9090);                                       // metrics
    /// });
    /// ...
    /// app.MapStemeDbSync(5000);
    /// </code>
    /// </example>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="ports">The local ports to serve the services on.</param>
    /// <returns>The sync service's endpoint convention builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> or <paramref name="ports"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A port is not between 1 and 65535.</exception>
    /// <exception cref="InvalidOperationException">The services are not registered (<c>AddGrpc</c> or
    /// <c>AddStemeDbSync</c> was not called).</exception>
    public static GrpcServiceEndpointConventionBuilder MapStemeDbSync(this IEndpointRouteBuilder endpoints, params int[] ports) =>
        endpoints.MapStemeDbSync<SyncServiceImpl>(ports);

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
        where TService : SyncServiceImpl =>
        endpoints.MapStemeDbSync<TService>([]);

    /// <summary>
    /// Maps a subclass of the node's sync service and the gRPC health service on the endpoints that listen on
    /// <paramref name="ports"/> only (every endpoint when none is given); see
    /// <see cref="MapStemeDbSync(IEndpointRouteBuilder, int[])"/> and <see cref="MapStemeDbSync{TService}(IEndpointRouteBuilder)"/>.
    /// </summary>
    /// <typeparam name="TService">The service class.</typeparam>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="ports">The local ports to serve the services on.</param>
    /// <returns>The sync service's endpoint convention builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> or <paramref name="ports"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A port is not between 1 and 65535.</exception>
    /// <exception cref="InvalidOperationException">The services are not registered (<c>AddGrpc</c> or
    /// <c>AddStemeDbSync</c> was not called).</exception>
    public static GrpcServiceEndpointConventionBuilder MapStemeDbSync<TService>(this IEndpointRouteBuilder endpoints, params int[] ports)
        where TService : SyncServiceImpl
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(ports);
        foreach (int port in ports)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(port, 1, nameof(ports));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535, nameof(ports));
        }

        IServiceProvider services = endpoints.ServiceProvider;
        if (services.GetService<SyncServer>() is null || services.GetService<HealthServiceImpl>() is null)
        {
            throw new InvalidOperationException(
                "MapStemeDbSync needs the node's services: call services.AddStemeDbSync(...) (and services.AddGrpc()) before building the application.");
        }

        int[] only = [.. ports];
        ServedEndpoints? served = services.GetService<ServedEndpoints>();
        served?.AddMapping(() => services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [], only);

        // The gRPC server's message limits come from the protocol's, unless the host set them: an answer of this node
        // stays within the 4 MiB a gRPC peer accepts (or one assertion with its framing, when the node takes larger ones).
        int limit = SyncProtocol.MaxMessageBytesFor(services.GetService<IOptions<SyncNodeOptions>>()?.Value.MaxAssertionBytes ?? 0);
        GrpcServiceOptions<TService> grpc = services.GetRequiredService<IOptions<GrpcServiceOptions<TService>>>().Value;
        grpc.MaxSendMessageSize ??= limit;
        grpc.MaxReceiveMessageSize ??= limit;

        GrpcServiceEndpointConventionBuilder sync = endpoints.MapGrpcService<TService>();
        sync.Add(endpoint => Guard(endpoint, only, served));
        GrpcServiceEndpointConventionBuilder health = endpoints.MapGrpcService<HealthServiceImpl>();
        health.Add(endpoint => Guard(endpoint, only, served: null));
        return sync;
    }

    /// <summary>
    /// Serves the endpoint on <paramref name="ports"/> only (any when empty), and with <paramref name="served"/>, only
    /// once the host has checked who may call (until then, and when the check failed, a call is answered HTTP 503, gRPC
    /// <c>UNAVAILABLE</c>).
    /// </summary>
    private static void Guard(EndpointBuilder endpoint, int[] ports, ServedEndpoints? served)
    {
        if (endpoint.RequestDelegate is not { } next || (ports.Length == 0 && served is null))
        {
            return;
        }

        endpoint.RequestDelegate = context =>
        {
            if (ports.Length > 0 && Array.IndexOf(ports, context.Connection.LocalPort) < 0)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            if (served is not null && !served.Checked)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            }

            return next(context);
        };
    }
}

using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Settings of a test server.</summary>
internal sealed class KestrelHostOptions
{
    /// <summary>TLS server certificate; cleartext HTTP/2 when null.</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>With TLS: the only client certificate accepted (mutual TLS); none required when null.</summary>
    public X509Certificate2? RequiredClientCertificate { get; set; }

    /// <summary>
    /// With TLS and no <see cref="RequiredClientCertificate"/>: ask for a client certificate but let callers without one
    /// in (authorization is then the service's <c>AuthorizeAsync</c>); any presented certificate is accepted.
    /// </summary>
    public bool AllowAnyClientCertificate { get; set; }

    /// <summary>gRPC's largest accepted request, in bytes.</summary>
    public int? MaxReceiveMessageSize { get; set; }

    /// <summary>Creates the service instance (for subclasses); the plain <see cref="SyncServiceImpl"/> when null.</summary>
    public Func<IServiceProvider, SyncServiceImpl>? ServiceFactory { get; set; }

    /// <summary>Extra service registrations and endpoints.</summary>
    public Action<WebApplication>? ConfigureApp { get; set; }

    /// <summary>Fixed port, for a restarted node; 0 picks a free one.</summary>
    public int Port { get; set; }
}

/// <summary>ASP.NET Core Kestrel on 127.0.0.1 hosting <see cref="SyncServiceImpl"/> over a given handler.</summary>
internal sealed class KestrelHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private KestrelHost(WebApplication app, Uri address, KestrelHostOptions options)
    {
        _app = app;
        Address = address;
        Options = options;
    }

    public Uri Address { get; }

    public KestrelHostOptions Options { get; }

    public static Task<KestrelHost> StartAsync(ISyncRequestHandler handler, KestrelHostOptions? options = null) =>
        StartAsync(new SyncServer(handler), options);

    /// <summary>Serves <paramref name="server"/> (its guard and authorizer in front of its handler) with <see cref="SyncServiceImpl"/>.</summary>
    public static async Task<KestrelHost> StartAsync(SyncServer server, KestrelHostOptions? options = null)
    {
        options ??= new KestrelHostOptions();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.ServerCertificate is { } serverCertificate)
                {
                    var https = new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate };
                    if (options.RequiredClientCertificate is { } trusted)
                    {
                        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                        https.ClientCertificateValidation = (certificate, _, _) => certificate.Thumbprint == trusted.Thumbprint;
                    }
                    else if (options.AllowAnyClientCertificate)
                    {
                        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                        https.ClientCertificateValidation = (_, _, _) => true;
                    }

                    listen.UseHttps(https);
                }
            });
        });
        builder.Services.AddGrpc(grpc =>
        {
            if (options.MaxReceiveMessageSize is int max)
            {
                grpc.MaxReceiveMessageSize = max;
            }
        });
        builder.Services.AddSingleton(server.Handler);
        builder.Services.AddSingleton(server);
        if (options.ServiceFactory is { } factory)
        {
            builder.Services.AddSingleton(factory);
        }

        WebApplication app = builder.Build();
        app.MapGrpcService<SyncServiceImpl>();
        options.ConfigureApp?.Invoke(app);
        await app.StartAsync();

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new KestrelHost(app, new Uri(bound), options);
    }

    /// <summary>A channel to this server; with TLS it pins the server certificate and presents the client certificate if given.</summary>
    public GrpcChannel CreateChannel(X509Certificate2? clientCertificate = null, GrpcChannelOptions? channelOptions = null)
    {
        channelOptions ??= new GrpcChannelOptions();
        channelOptions.HttpHandler ??= CreateHandler(clientCertificate);
        return GrpcChannel.ForAddress(Address, channelOptions);
    }

    /// <summary>An HTTP handler that trusts exactly this server's certificate.</summary>
    public HttpMessageHandler CreateHandler(X509Certificate2? clientCertificate = null)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (Options.ServerCertificate is { } pinned)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString() == pinned.GetCertHashString();
            if (clientCertificate is not null)
            {
                handler.SslOptions.ClientCertificates = new X509CertificateCollection { clientCertificate };
            }
        }

        return handler;
    }

    public GrpcSyncPeer CreatePeer(GrpcSyncPeerOptions? options = null, X509Certificate2? clientCertificate = null)
    {
        options ??= new GrpcSyncPeerOptions();
        options.HttpHandler ??= CreateHandler(clientCertificate);
        return GrpcSyncPeer.Create(Address, options);
    }

    /// <summary>Stops at once, aborting calls in flight (a crashed node).</summary>
    public async Task KillAsync()
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await _app.StopAsync(now.Token);
        await _app.DisposeAsync();
        _stopped = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

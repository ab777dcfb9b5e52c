using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using StemeDb.Sync.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>What a node served by <see cref="NodeServer"/> looks like.</summary>
internal sealed class NodeServerSettings
{
    /// <summary>Where to listen: http://IP:PORT (port 0 picks a free port) or http://localhost:PORT.</summary>
    public required Uri Listen { get; init; }

    public IReadOnlyList<Uri> Peers { get; init; } = [];

    /// <summary>DNS names of peers: NAME:PORT (A/AAAA records) or NAME (SRV records).</summary>
    public IReadOnlyList<string> PeerDns { get; init; } = [];

    /// <summary>A data directory for a durable store (<see cref="DataStores"/>); in-memory when <see langword="null"/>.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>The kind of store for a new data directory; <see langword="null"/>: RocksDB.</summary>
    public StoreKind? Store { get; init; }

    public NodeId? NodeId { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Warning;

    /// <summary>The least level logged by the library's own categories (<c>StemeDb.Sync.*</c>); <see cref="MinimumLogLevel"/> when <see langword="null"/>.</summary>
    public LogLevel? LibraryLogLevel { get; init; }

    /// <summary>A shared bearer token: required from callers of the sync service, and sent to the peers.</summary>
    public string? Token { get; init; }

    /// <summary>TLS: the node's certificate (served on an https:// address, and presented to peers), and the CAs of callers and peers.</summary>
    public TlsArguments Tls { get; init; } = new();

    /// <summary>Whether the node may serve beyond loopback in cleartext, or to callers it does not authenticate.</summary>
    public bool Insecure { get; init; }

    /// <summary>Where to serve Prometheus metrics (<c>/metrics</c>) and the health check (<c>/healthz</c>) over HTTP/1.1: http://IP:PORT; none when <see langword="null"/>.</summary>
    public Uri? MetricsListen { get; init; }

    /// <summary>An OTLP endpoint to export the metrics to (gRPC, such as http://127.0.0.1:4317); none when <see langword="null"/>.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Changes the engine settings, which otherwise keep the core's defaults (<see cref="SyncNodeOptions"/>).</summary>
    public Action<SyncNodeOptions>? ConfigureNode { get; init; }
}

/// <summary>
/// A real node: Kestrel (HTTP/2 cleartext) serving the sync and health gRPC services of a node registered with
/// <c>AddStemeDbSync</c>, on an in-memory store or the durable store of a data directory (<see cref="DataStores"/>).
/// </summary>
internal sealed class NodeServer : IAsyncDisposable
{

    private readonly WebApplication _app;
    private int _stopped;

    private NodeServer(WebApplication app, Uri address, SyncNode node, string storeDescription, Uri? metrics)
    {
        _app = app;
        Metrics = metrics;
        Address = address;
        Node = node;
        StoreDescription = storeDescription;
    }

    public Uri Address { get; }

    /// <summary>The bound metrics address (its <c>/metrics</c> URL), or <see langword="null"/> without <c>--metrics-listen</c>.</summary>
    public Uri? Metrics { get; }

    public SyncNode Node { get; }

    public string StoreDescription { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<NodeServer> StartAsync(NodeServerSettings settings, CancellationToken cancellationToken)
    {
        bool https = settings.Listen.Scheme == Uri.UriSchemeHttps;
        if (https != settings.Tls.Validate().CheckFiles().HasCertificate)
        {
            throw new CliException(ExitCodes.Usage, https
                ? $"--listen {settings.Listen} needs --tls-cert and --tls-key (PEM) to serve TLS."
                : $"--tls-cert serves TLS: --listen must be an https:// address; got '{settings.Listen}'.");
        }

        if (settings.Tls.ClientCaFile is not null && !https)
        {
            throw new CliException(ExitCodes.Usage, "--client-ca requires TLS: give --tls-cert, --tls-key and an https:// --listen address.");
        }

        if (settings.Tls.AllowedPeers.Count > 0 && settings.Tls.ClientCaFile is null)
        {
            throw new CliException(ExitCodes.Usage, "--allow-peer checks client certificates: it requires --client-ca (mutual TLS).");
        }

        if (!settings.Insecure && !IsLoopback(settings.Listen))
        {
            string listen = settings.Listen.GetLeftPart(UriPartial.Authority);
            if (!https)
            {
                throw new CliException(
                    ExitCodes.Usage,
                    $"--listen {listen} would serve cleartext gRPC beyond this machine: anyone who can reach it could read " +
                    "every assertion and push new ones. Listen on 127.0.0.1 behind a TLS terminator, or pass --insecure to serve it anyway (with --token-file to require a token).");
            }

            bool mutualTls = settings.Tls.ClientCaFile is not null && settings.Tls.AllowedPeers.Count > 0;
            if (!mutualTls && settings.Token is null)
            {
                throw new CliException(
                    ExitCodes.Usage,
                    settings.Tls.ClientCaFile is null
                        ? $"--listen {listen} would serve every caller beyond this machine without authenticating it: anyone who can reach it could read every " +
                          "assertion and push new ones. Add --client-ca with --allow-peer NAME (mutual TLS), or --token-file, or pass --insecure to serve it anyway."
                        : $"--listen {listen} with --client-ca alone would serve any holder of a certificate of that CA beyond this machine. Add --allow-peer NAME " +
                          "for each peer, or --token-file, or pass --insecure to serve it anyway.");
            }
        }

        NodeId nodeId = settings.NodeId ?? (settings.DataDirectory is { } dir ? LoadOrCreateNodeId(dir) : NodeId.NewId());

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "stemedb-sync",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(settings.MinimumLogLevel);
        if (settings.LibraryLogLevel is { } libraryLevel)
        {
            builder.Logging.AddFilter("StemeDb.Sync", libraryLevel);
        }

        if (settings.MinimumLogLevel < LogLevel.None || settings.LibraryLogLevel < LogLevel.None)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);

            // Standard output carries the command's own lines (the address first); logs go to standard error.
            builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        IPAddress? metricsIp = null;
        if (settings.MetricsListen is { } metricsListen)
        {
            string host = metricsListen.Host.Trim('[', ']');
            metricsIp = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
                : IPAddress.TryParse(host, out IPAddress? parsed) ? parsed
                : throw new CliException(ExitCodes.Usage, $"--metrics-listen needs an IP address or localhost as host; got '{metricsListen.Host}'.");
            if (metricsListen.Scheme != Uri.UriSchemeHttp)
            {
                throw new CliException(ExitCodes.Usage, $"--metrics-listen serves plain HTTP: give an http:// address; got '{metricsListen}'.");
            }
        }

        // Signals are handled by the command line; the host must not install its own Ctrl-C handler.
        builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>();
        ListenOptions? metricsEndpoint = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (metricsIp is not null)
            {
                // HTTP/1.1 only, while the sync service is HTTP/2 only: that is how requests to the two are told apart.
                kestrel.Listen(metricsIp, settings.MetricsListen!.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    metricsEndpoint = listen;
                });
            }

            Action<ListenOptions> http2 = listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (https)
                {
                    // The node's certificate, read again when its files change; with --client-ca, mutual TLS.
                    listen.UseStemeDbSyncTls();
                }
            };
            if (IPAddress.TryParse(settings.Listen.Host.Trim('[', ']'), out IPAddress? ip))
            {
                kestrel.Listen(ip, settings.Listen.Port, http2);
            }
            else if (string.Equals(settings.Listen.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.ListenLocalhost(settings.Listen.Port, http2);
            }
            else
            {
                throw new CliException(ExitCodes.Usage, $"--listen needs an IP address or localhost as host; got '{settings.Listen.Host}'.");
            }
        });

        builder.Services.AddGrpc();
        StemeDb.Sync.Hosting.StemeDbSyncBuilder sync = builder.Services.AddStemeDbSync(options =>
        {
            foreach (Uri peer in settings.Peers)
            {
                options.Peers.Add(peer.ToString());
            }

            foreach (string name in settings.PeerDns)
            {
                options.PeerDns.Add(name);
            }

            settings.Tls.CopyTo(options.Tls);

            // The checks above are the command line's; the hosting checks the bound addresses again at start.
            options.AllowUnauthenticatedCallers = settings.Insecure;
        });

        if (settings.MetricsListen is not null || settings.OtlpEndpoint is not null)
        {
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService("stemedb-sync", serviceInstanceId: nodeId.ToString()))
                .WithMetrics(metrics =>
                {
                    metrics.AddMeter(SyncTelemetry.MeterName);
                    if (settings.MetricsListen is not null)
                    {
                        metrics.AddPrometheusExporter();
                    }

                    if (settings.OtlpEndpoint is { } otlp)
                    {
                        metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
                    }
                });
        }

        if (settings.MetricsListen is not null)
        {
            builder.Services.AddHealthChecks().AddStemeDbSync();
        }

        // Per-caller limits (calls and bytes in flight, the rate of rejected requests): AddStemeDbSync registers a
        // PeerGuard with the library's defaults, which the served SyncServer uses.
        if (settings.Token is { } token)
        {
            builder.Services.AddSingleton<ISyncCallAuthorizer>(new BearerTokenAuthorizer(token));
            sync.ConfigurePeers((_, peer) => peer.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(token));
        }

        sync.ConfigureNode(options =>
        {
            options.NodeId = nodeId;
            options.ContentValidator = RkyvAssertionValidator.Instance;
            settings.ConfigureNode?.Invoke(options);
        });

        string storeDescription = "in-memory";
        IAssertionStore? durable = null;
        if (settings.DataDirectory is { } dataDirectory)
        {
            (durable, storeDescription) = await DataStores.OpenAsync(dataDirectory, settings.Store, cancellationToken).ConfigureAwait(false);

            // The container owns the store from here on and disposes it with the application.
            IAssertionStore owned = durable;
            sync.UseStore(_ => owned);
        }

        WebApplication app;
        try
        {
            app = builder.Build();
        }
        catch
        {
            if (durable is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        if (settings.MetricsListen is not null)
        {
            // Only HTTP/1.1 requests reach this branch: they came to the metrics address (the sync service speaks HTTP/2 only).
            app.MapWhen(
                context => !HttpProtocol.IsHttp2(context.Request.Protocol),
                metrics =>
                {
                    metrics.UseOpenTelemetryPrometheusScrapingEndpoint();
                    metrics.UseHealthChecks("/healthz");
                    metrics.Run(context =>
                    {
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return Task.CompletedTask;
                    });
                });
        }

        app.MapStemeDbSync();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (durable is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().ConfigureAwait(false);
            }

            if (ex is IOException or SocketException)
            {
                throw new CliException(ExitCodes.IOError, $"cannot listen on {settings.Listen}: {ex.Message}", ex);
            }

            throw;
        }

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
                .FirstOrDefault(a => metricsEndpoint?.IPEndPoint is not { } m || !a.EndsWith(":" + m.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            ?? settings.Listen.ToString();
        var address = new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        Uri? metricsAddress = metricsEndpoint?.IPEndPoint is { } endpoint ? MetricsUrl(endpoint) : null;
        return new NodeServer(app, address, app.Services.GetRequiredService<SyncNode>(), storeDescription, metricsAddress);
    }

    /// <summary>The <c>/metrics</c> URL of the bound metrics endpoint (a wildcard address as loopback).</summary>
    private static Uri MetricsUrl(IPEndPoint endpoint)
    {
        IPAddress ip = endpoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endpoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endpoint.Address;
        string host = ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        return new Uri(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"http://{host}:{endpoint.Port}/metrics"));
    }

    /// <summary>Whether the listen address is this machine only (localhost or a loopback IP; not 0.0.0.0 or [::]).</summary>
    private static bool IsLoopback(Uri listen) => StemeDb.Sync.Hosting.Internal.SecretFiles.IsLoopback(listen);

    /// <summary>Stops the server and the node, then disposes them (and the store). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The node id kept in the data directory (<see cref="NodeIdFile"/>, shared with hosted nodes), created on first use, so
    /// a durable node keeps its id; a damaged id file is a local I/O error naming it.
    /// </summary>
    public static NodeId LoadOrCreateNodeId(string dataDirectory)
    {
        try
        {
            return NodeIdFile.LoadOrCreate(dataDirectory);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.IOError, ex.Message, ex);
        }
    }

    /// <summary>A host lifetime that leaves Ctrl-C and SIGTERM to the command line, which cancels the command.</summary>
    private sealed class CommandLineLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.AspNetCore.Tests.Support;

/// <summary>A node as a host app builds it from the docs: AddStemeDbSync from configuration, then MapStemeDbSync.</summary>
internal static class TestNodes
{
    /// <summary>Builds (without starting) a node on <paramref name="address"/>:<paramref name="port"/>.</summary>
    /// <param name="settings">Configuration keys (<c>StemeDbSync:…</c>).</param>
    /// <param name="tls">Serve with <c>UseStemeDbSyncTls()</c>; cleartext HTTP/2 otherwise.</param>
    /// <param name="configure">More services, registered before AddStemeDbSync.</param>
    public static WebApplication Build(Dictionary<string, string?>? settings = null, bool tls = false, Action<IServiceCollection>? configure = null, IPAddress? address = null, int port = 0)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address ?? IPAddress.Loopback, port, listen =>
        {
            if (tls)
            {
                listen.UseStemeDbSyncTls();
            }
            else
            {
                listen.Protocols = HttpProtocols.Http2;
            }
        }));
        builder.Services.AddGrpc();
        configure?.Invoke(builder.Services);
        builder.Services.AddStemeDbSync(builder.Configuration.GetSection("StemeDbSync"))
            .ConfigureNode(node => node.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        return builder.Build();
    }

    /// <summary>Builds a node, maps the sync service and starts it.</summary>
    public static async Task<WebApplication> StartAsync(CancellationToken cancellationToken, Dictionary<string, string?>? settings = null, bool tls = false, Action<IServiceCollection>? configure = null, IPAddress? address = null, int port = 0)
    {
        WebApplication app = Build(settings, tls, configure, address, port);
        app.MapStemeDbSync();
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>The address the node listens on.</summary>
    /// <summary>The hosting settings of a node with mutual TLS: its certificate, one CA for callers and peers, and node-a and node-b allowed.</summary>
    public static Dictionary<string, string?> MutualTls(string caFile, string certificate, string key) => new()
    {
        ["StemeDbSync:Tls:CertificateFile"] = certificate,
        ["StemeDbSync:Tls:KeyFile"] = key,
        ["StemeDbSync:Tls:ClientCaFile"] = caFile,
        ["StemeDbSync:Tls:PeerCaFile"] = caFile,
        ["StemeDbSync:Tls:AllowedPeers:0"] = "node-a",
        ["StemeDbSync:Tls:AllowedPeers:1"] = "node-b",
    };

    public static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
}

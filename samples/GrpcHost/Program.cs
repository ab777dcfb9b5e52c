// A minimal ASP.NET Core host for one StemeDb.Sync node, serving the v1 gRPC service on 127.0.0.1.
//
//   dotnet run --project samples/GrpcHost -- --port 5001
//   dotnet run --project samples/GrpcHost -- --port 5002 --peer http://127.0.0.1:5001 --ingest "hello"
//   dotnet run --project samples/GrpcHost -- --port 5003 --pfx node.pfx --pfx-password secret   (TLS)
//   dotnet run --project samples/GrpcHost -- --port 5004 --token 6f1c0e8a2b9d4e57a3c1   (callers must send the token)
//
// Without --pfx the endpoint is HTTP/2 cleartext (h2c); with it, HTTP/2 over TLS. The node gossips what it
// ingests to its peers and reconciles with them by anti-entropy every few seconds. With --token the sync service
// requires ASP.NET Core authorization (a bearer token here; any authentication scheme works the same way), and the
// node sends the token to its peers.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StemeDb.Sync;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Samples.GrpcHost;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--port"] = "Port",
    ["--peer"] = "StemeDbSync:Peers:0",
    ["--pfx"] = "Pfx",
    ["--pfx-password"] = "PfxPassword",
    ["--ingest"] = "Ingest",
    ["--token"] = "Token",
});
builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

int port = builder.Configuration.GetValue("Port", 5001);
string? pfx = builder.Configuration["Pfx"];
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
{
    listen.Protocols = HttpProtocols.Http2;
    if (pfx is not null)
    {
        listen.UseHttps(X509CertificateLoader.LoadPkcs12FromFile(pfx, builder.Configuration["PfxPassword"]));
    }
}));

// The node: AddStemeDbSync registers it (an in-memory store unless UseStore picks another), its peers from
// configuration (--peer), a hosted service that starts it and runs gossip and anti-entropy, and the server side
// MapStemeDbSync serves: the node's handler behind a PeerGuard with default limits. With a token, every call to a
// peer carries it (the peers of this sample share one).
string? token = builder.Configuration["Token"];
if (token is not null && System.Text.Encoding.UTF8.GetByteCount(token) < BearerTokenAuthorizer.MinimumTokenBytes)
{
    throw new ArgumentException($"--token must be at least {BearerTokenAuthorizer.MinimumTokenBytes} bytes, such as the output of 'openssl rand -hex 32'.");
}

builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 4 * 1024 * 1024);
builder.Services.AddStemeDbSync(builder.Configuration.GetSection("StemeDbSync"))
    .ConfigureNode(node => node.AntiEntropyInterval = TimeSpan.FromSeconds(10)) // jitter: one sixth of the interval
    .ConfigurePeers((_, peer) =>
    {
        if (token is not null)
        {
            peer.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(token);
        }
    });
builder.Services.AddHostedService<IngestOnStart>();

// Authorization the ASP.NET Core way: an authentication scheme, and RequireAuthorization() on the sync endpoint
// (an [Authorize] attribute on a SyncServiceImpl subclass works too). A refused call gets UNAUTHENTICATED before
// it reaches the service, so nothing is stored. The health service stays open to probes.
builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
    .AddScheme<BearerTokenOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, o => o.Token = token);
builder.Services.AddAuthorization();

WebApplication app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
GrpcServiceEndpointConventionBuilder sync = app.MapStemeDbSync();
if (token is not null)
{
    sync.RequireAuthorization();
}

await app.RunAsync();

namespace StemeDb.Sync.Samples.GrpcHost
{
    /// <summary>Optionally ingests one assertion once the node runs (AddStemeDbSync's hosted service starts it first).</summary>
    internal sealed partial class IngestOnStart : IHostedService
    {
        private readonly SyncNode _node;
        private readonly IConfiguration _configuration;
        private readonly ILogger<IngestOnStart> _logger;

        public IngestOnStart(SyncNode node, IConfiguration configuration, ILogger<IngestOnStart> logger)
        {
            _node = node;
            _configuration = configuration;
            _logger = logger;
        }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (_configuration["Ingest"] is { } text)
            {
                // Assertions are rkyv archives: the text becomes the object of one StemeDB Assertion. Bytes the node's
                // content validator refuses are reported, not stored.
                var now = new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, _node.NodeId);
                byte[] bytes = AssertionCodec.Encode(new Assertion("sample", "says", AssertionValue.FromText(text), now, _node.NodeId));
                try
                {
                    IngestResult result = await _node.IngestAsync(bytes, cancellationToken);
                    LogIngested(_logger, result.Hash.ToString(), result.Timestamp.ToString());
                }
                catch (AssertionRejectedException ex)
                {
                    LogRefused(_logger, ex.Message);
                }
            }

            LogStarted(_logger, _node.NodeId.ToString(), _node.Count.ToString(CultureInfo.InvariantCulture));
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(1, LogLevel.Information, "Node {NodeId} serving StemeDb.Sync v1 with {Count} assertions")]
        private static partial void LogStarted(ILogger logger, string nodeId, string count);

        [LoggerMessage(4, LogLevel.Warning, "Ingest refused: {Reason}")]
        private static partial void LogRefused(ILogger logger, string reason);

        [LoggerMessage(3, LogLevel.Information, "Ingested {Hash} at {Timestamp}")]
        private static partial void LogIngested(ILogger logger, string hash, string timestamp);
    }
}

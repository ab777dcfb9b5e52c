using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>
/// What the node's calls to its peers carry, observed by an HTTP handler that records each request as it would leave
/// (no network): the token file's token goes to https:// and loopback peers only, and DNS names add a bounded number of
/// peers. Secret files that others can read are reported at start.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PeerCredentialsTests
{
    private const string Token = "0123456789abcdef-peer-token";
    private string _directory = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "stemedb-credentials-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task TokenFile_HttpPeerBeyondLoopback_GetsNoTokenAndOneWarning(CancellationToken cancellationToken)
    {
        string tokenFile = WriteOwnerOnly("token", Token + "\n");
        var seen = new List<(Uri Address, string? Token)>();
        var log = new RecordingLoggerProvider();
        using IHost host = BuildHost(log, services => services
            .AddStemeDbSync(o =>
            {
                o.TokenFile = tokenFile;
                o.Peers.Add("http://192.0.2.1:1");   // cleartext, another machine
                o.Peers.Add("http://127.0.0.2:1");   // cleartext, this machine
                o.Peers.Add("http://localhost:1");
                o.Peers.Add("https://192.0.2.2:1");  // TLS
            })
            .ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan)
            .ConfigurePeers((_, peer) => peer.HttpHandler = new RecordingHandler(seen)));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        await host.StartAsync(cancellationToken);
        foreach (ISyncPeer peer in node.Peers)
        {
            Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(node.NodeId, cancellationToken));
        }

        await host.StopAsync(cancellationToken);

        Dictionary<string, string?[]> byHost = seen.GroupBy(s => s.Address.Host).ToDictionary(g => g.Key, g => g.Select(s => s.Token).Distinct().ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(byHost["192.0.2.1"], Is.EqualTo(new string?[] { null }), "no token in cleartext to another machine");
            Assert.That(byHost["127.0.0.2"], Is.EqualTo(new[] { "Bearer " + Token }));
            Assert.That(byHost["localhost"], Is.EqualTo(new[] { "Bearer " + Token }));
            Assert.That(byHost["192.0.2.2"], Is.EqualTo(new[] { "Bearer " + Token }), "over TLS");
            Assert.That(log.Messages(8), Has.Count.EqualTo(1).And.One.Contains("http://192.0.2.1:1"));
        });
    }

    [Test]
    public async Task ConfigurePeers_TokenHeaderForHttpPeerBeyondLoopback_IsNotSent(CancellationToken cancellationToken)
    {
        var seen = new List<(Uri Address, string? Token)>();
        var log = new RecordingLoggerProvider();
        using IHost host = BuildHost(log, services => services
            .AddStemeDbSync(o =>
            {
                o.Peers.Add("http://10.1.2.3:1");
                o.Peers.Add("http://[::1]:1");
            })
            .ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan)
            .ConfigurePeers((_, peer) =>
            {
                peer.Headers["Authorization"] = BearerTokenAuthorizer.HeaderValue(Token);
                peer.HttpHandler = new RecordingHandler(seen);
            }));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        await host.StartAsync(cancellationToken);
        foreach (ISyncPeer peer in node.Peers)
        {
            Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(node.NodeId, cancellationToken));
        }

        await host.StopAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(seen.Where(s => s.Address.Host == "10.1.2.3").Select(s => s.Token), Is.Not.Empty.And.All.Null);
            Assert.That(seen.Where(s => s.Address.Host == "[::1]").Select(s => s.Token), Is.Not.Empty.And.All.EqualTo("Bearer " + Token));
            Assert.That(log.Messages(8), Has.One.Contains("http://10.1.2.3:1"));
        });
    }

    [Test]
    public async Task PeerDns_MoreAddressesThanPeerDnsMaxPeers_TriesTheFirstByAddressAndWarnsOnce(CancellationToken cancellationToken)
    {
        var seen = new List<(Uri Address, string? Token)>();
        var log = new RecordingLoggerProvider();
        var resolver = new FixedResolver("nodes.test", "10.0.0.5", "10.0.0.3", "10.0.0.1", "10.0.0.4", "10.0.0.2");
        using IHost host = BuildHost(log, services =>
        {
            services.AddSingleton<IPeerNameResolver>(resolver);
            services.AddStemeDbSync(o =>
                {
                    o.PeerDns.Add("nodes.test:5000");
                    o.PeerDnsMaxPeers = 2;
                })
                .ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan)
                .ConfigurePeers((_, peer) => peer.HttpHandler = new RecordingHandler(seen));
        });
        await host.StartAsync(cancellationToken);
        PeerDirectory directory = host.Services.GetServices<IHostedService>().OfType<StemeDbSyncHostedService>().Single().Peers;

        await directory.RefreshAsync(cancellationToken); // the same answer again: no second warning
        await host.StopAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(seen.Select(s => s.Address.Host).Distinct().Order(), Is.EqualTo(new[] { "10.0.0.1", "10.0.0.2" }), "only the first two by address were asked for a ping");
            Assert.That(log.Messages(9), Has.Count.EqualTo(1).And.One.Contains("nodes.test:5000").And.One.Contains("names 5 peers").And.One.Contains("3 are ignored"));
        });
    }

    [Test]
    [Platform(Exclude = "Win", Reason = "Unix file modes")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task StartAsync_TokenAndKeyFilesReadableByOthers_LogsAWarningNamingEachFile(CancellationToken cancellationToken)
    {
        string tokenFile = WriteOwnerOnly("token", Token);
        (string certificateFile, string keyFile) = WriteCertificate("node");
        string privateToken = WriteOwnerOnly("private-token", Token);
        File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.GroupRead);
        var log = new RecordingLoggerProvider();
        var hosted = new StemeDbSyncHostedServiceProbe(log, o =>
        {
            o.TokenFile = tokenFile;
            o.Tls.CertificateFile = certificateFile;
            o.Tls.KeyFile = keyFile;
        });
        var quiet = new RecordingLoggerProvider();
        var quietHosted = new StemeDbSyncHostedServiceProbe(quiet, o => o.TokenFile = privateToken);

        await hosted.StartAndStopAsync(cancellationToken);
        await quietHosted.StartAndStopAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(log.Messages(10), Has.Count.EqualTo(2));
            Assert.That(log.Messages(10), Has.One.Contains($"StemeDbSync:TokenFile '{tokenFile}'").And.Contains("group and others").And.Contains($"chmod 600 '{tokenFile}'"));
            Assert.That(log.Messages(10), Has.One.Contains($"StemeDbSync:Tls:KeyFile '{keyFile}'").And.Contains("by its group (mode 0440)").And.Contains($"chmod 600 '{keyFile}'"));
            Assert.That(quiet.Messages(10), Is.Empty, "a file only its owner can read is not reported");
        });
    }

    private string WriteOwnerOnly(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    /// <summary>A self-signed certificate and its key as PEM files (the key owner-only, as a certificate manager writes it).</summary>
    private (string Certificate, string Key) WriteCertificate(string name)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest($"CN={name}", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using System.Security.Cryptography.X509Certificates.X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return (WriteOwnerOnly(name + ".pem", certificate.ExportCertificatePem()), WriteOwnerOnly(name + ".key", key.ExportPkcs8PrivateKeyPem()));
    }

    private static IHost BuildHost(RecordingLoggerProvider log, Action<IServiceCollection> configure)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(log);
        configure(builder.Services);
        return builder.Build();
    }

    /// <summary>A host whose node has no peers, to start and stop the hosted service with the given options.</summary>
    private sealed class StemeDbSyncHostedServiceProbe(RecordingLoggerProvider log, Action<StemeDbSyncOptions> configure)
    {
        public async Task StartAndStopAsync(CancellationToken cancellationToken)
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Logging.AddProvider(log);
            builder.Services.AddStemeDbSync(configure).ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
            using IHost host = builder.Build();
            await host.StartAsync(cancellationToken);
            await host.StopAsync(cancellationToken);
        }
    }

    /// <summary>Records each log line's event id and message.</summary>
    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly List<(int EventId, string Message)> _lines = [];

        public List<string> Messages(int eventId)
        {
            lock (_lines)
            {
                return [.. _lines.Where(l => l.EventId == eventId).Select(l => l.Message)];
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._lines)
                {
                    owner._lines.Add((eventId.Id, formatter(state, exception)));
                }
            }
        }
    }

    /// <summary>One name with fixed A records.</summary>
    private sealed class FixedResolver(string name, params string[] addresses) : IPeerNameResolver
    {
        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
            host == name
                ? Task.FromResult(addresses.Select(IPAddress.Parse).ToArray())
                : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));

        public Task<SrvRecord[]> ResolveServiceAsync(string service, CancellationToken cancellationToken) =>
            Task.FromException<SrvRecord[]>(new DnsException($"The name '{service}' does not exist (NXDOMAIN)."));
    }

    /// <summary>Stands in for the network: records each request as it would leave, and answers 503.</summary>
    private sealed class RecordingHandler(List<(Uri Address, string? Token)> seen) : System.Net.Http.HttpMessageHandler
    {
        protected override Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (seen)
            {
                seen.Add((request.RequestUri!, request.Headers.TryGetValues("authorization", out IEnumerable<string>? values) ? values.Single() : null));
            }

            return Task.FromResult(new System.Net.Http.HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Version = new Version(2, 0) });
        }
    }
}

using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.AspNetCore.Tests.Support;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.AspNetCore.Tests;

/// <summary>
/// A host that serves the sync service beyond loopback must authenticate its callers (a token, an authorizer, or mutual
/// TLS with allowed peers) or say it does so another way (<c>AllowUnauthenticatedCallers</c>); client TLS settings need
/// an endpoint that serves them; and <c>MapStemeDbSync(ports)</c> serves the node on those ports only.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ExposureTests
{
    private TestPki _pki = null!;

    [SetUp]
    public void SetUp() => _pki = new TestPki();

    [TearDown]
    public void TearDown() => _pki.Dispose();

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_SyncServedBeyondLoopbackToAnyCaller_FailsNamingTheOptOut(CancellationToken cancellationToken)
    {
        await using WebApplication app = TestNodes.Build(address: IPAddress.Any);
        app.MapStemeDbSync();

        var failed = Assert.ThrowsAsync<InvalidOperationException>(async () => await app.StartAsync(cancellationToken));

        Assert.That(failed!.Message, Does.Contain("StemeDbSync:AllowUnauthenticatedCallers").And.Contain("StemeDbSync:TokenFile").And.Contain("0.0.0.0"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_TlsBeyondLoopbackWithAClientCaButNoAllowedPeers_Fails(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        Dictionary<string, string?> settings = Tls(ca);
        settings.Remove("StemeDbSync:Tls:AllowedPeers:0");
        await using WebApplication app = TestNodes.Build(settings, tls: true, address: IPAddress.Any);
        app.MapStemeDbSync();

        var failed = Assert.ThrowsAsync<InvalidOperationException>(async () => await app.StartAsync(cancellationToken));

        Assert.That(failed!.Message, Does.Contain("StemeDbSync:Tls:AllowedPeers"));
    }

    [TestCase("opt-out")]
    [TestCase("token")]
    [TestCase("authorizer")]
    [TestCase("mutual-tls")]
    [CancelAfter(60_000)]
    public async Task Start_BeyondLoopbackWithCallersAuthenticatedOrTheOptOut_Starts(string how, CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        Dictionary<string, string?> settings = how switch
        {
            "opt-out" => new() { ["StemeDbSync:AllowUnauthenticatedCallers"] = "true" },
            "token" => new() { ["StemeDbSync:TokenFile"] = _pki.Write("token", "s3cret-token-0123456789") },
            "mutual-tls" => Tls(ca),
            _ => [],
        };
        await using WebApplication app = TestNodes.Build(
            settings,
            tls: how == "mutual-tls",
            configure: how == "authorizer" ? services => services.AddSingleton<ISyncCallAuthorizer>(new BearerTokenAuthorizer("s3cret-token-0123456789")) : null,
            address: IPAddress.Any);
        app.MapStemeDbSync();

        await app.StartAsync(cancellationToken);

        Assert.That(TestNodes.AddressOf(app).Port, Is.Positive);
        await app.StopAsync(cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_ClientCaWithoutAnEndpointServingUseStemeDbSyncTls_FailsNamingTheSettings(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        await using WebApplication app = TestNodes.Build(new() { ["StemeDbSync:Tls:ClientCaFile"] = caFile, ["StemeDbSync:Tls:AllowedPeers:0"] = "node-b" });
        app.MapStemeDbSync();

        var failed = Assert.ThrowsAsync<InvalidOperationException>(async () => await app.StartAsync(cancellationToken));

        Assert.That(failed!.Message, Does.Contain("StemeDbSync:Tls:ClientCaFile").And.Contain("UseStemeDbSyncTls()"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MapStemeDbSync_LimitedToAPort_IsNotServedOnAnotherPortOfTheAppThatIsNotChecked(CancellationToken cancellationToken)
    {
        int syncPort = FreePort();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, syncPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Any, 0, listen => listen.Protocols = HttpProtocols.Http2); // another port, beyond loopback
        });
        builder.Services.AddGrpc();
        builder.Services.AddStemeDbSync();
        await using WebApplication app = builder.Build();
        app.MapStemeDbSync(syncPort);
        await app.StartAsync(cancellationToken);
        int otherPort = 0;
        foreach (string address in app.Urls)
        {
            int port = new Uri(address).Port;
            otherPort = port != syncPort ? port : otherPort;
        }

        using GrpcSyncPeer onSyncPort = GrpcSyncPeer.Create(new Uri($"http://127.0.0.1:{syncPort}"));
        using GrpcSyncPeer onOtherPort = GrpcSyncPeer.Create(new Uri($"http://127.0.0.1:{otherPort}"));
        PingResult ping = await onSyncPort.PingAsync(NodeId.NewId(), cancellationToken);
        var refused = Assert.ThrowsAsync<SyncPeerException>(async () => await onOtherPort.PingAsync(NodeId.NewId(), cancellationToken));

        Assert.Multiple(() =>
        {
            Assert.That(otherPort, Is.Positive.And.Not.EqualTo(syncPort));
            Assert.That(ping.NodeId, Is.EqualTo(app.Services.GetRequiredService<SyncNode>().NodeId));
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unimplemented), "not served on the other port");
        });
        await app.StopAsync(cancellationToken);
    }

    private Dictionary<string, string?> Tls(TestAuthority ca)
    {
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string cert, string key) = _pki.Issue(ca, "node-a");
        return new()
        {
            ["StemeDbSync:Tls:CertificateFile"] = cert,
            ["StemeDbSync:Tls:KeyFile"] = key,
            ["StemeDbSync:Tls:ClientCaFile"] = caFile,
            ["StemeDbSync:Tls:AllowedPeers:0"] = "node-b",
        };
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

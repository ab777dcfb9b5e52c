using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
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
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.AspNetCore.Tests;

/// <summary>
/// Nodes whose credentials come from configuration alone (<c>StemeDbSync:Tls</c>, <c>StemeDbSync:TokenFile</c>), with
/// certificates made in the test: mutual TLS between nodes, refusals of callers without the right certificate or token,
/// and a rotated certificate served without a restart.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NodeTlsAndTokenTests
{
    private TestPki _pki = null!;

    [SetUp]
    public void SetUp() => _pki = new TestPki();

    [TearDown]
    public void TearDown() => _pki.Dispose();

    [Test]
    [CancelAfter(90_000)]
    public async Task TlsFromConfiguration_MutualTls_NodesSyncAndOnlyAllowedPeersOfTheCaAreServed(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        using var otherCa = new TestAuthority("another ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string aCert, string aKey) = _pki.Issue(ca, "node-a");
        (string bCert, string bKey) = _pki.Issue(ca, "node-b");
        (string outsiderCert, string outsiderKey) = _pki.Issue(ca, "outsider");
        (string strangerCert, string strangerKey) = _pki.Issue(otherCa, "stranger");
        Dictionary<string, string?> Tls(string cert, string key) => new()
        {
            ["StemeDbSync:Tls:CertificateFile"] = cert,
            ["StemeDbSync:Tls:KeyFile"] = key,
            ["StemeDbSync:Tls:ClientCaFile"] = caFile,
            ["StemeDbSync:Tls:PeerCaFile"] = caFile,
            ["StemeDbSync:Tls:AllowedPeers:0"] = "node-a",
            ["StemeDbSync:Tls:AllowedPeers:1"] = "node-b",
        };

        await using WebApplication a = await StartNodeAsync(Tls(aCert, aKey), tls: true, cancellationToken);
        Uri addressA = AddressOf(a);
        SyncNode nodeA = a.Services.GetRequiredService<SyncNode>();
        await nodeA.IngestAsync(TestAssertions.Encode("written on a", nodeA.NodeId), cancellationToken);
        Dictionary<string, string?> configB = Tls(bCert, bKey);
        configB["StemeDbSync:Peers:0"] = addressA.ToString();
        await using WebApplication b = await StartNodeAsync(configB, tls: true, cancellationToken);
        SyncNode nodeB = b.Services.GetRequiredService<SyncNode>();
        await nodeB.IngestAsync(TestAssertions.Encode("written on b", nodeB.NodeId), cancellationToken);

        await nodeB.SyncWithPeerAsync(nodeB.Peers.Single(), cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(nodeA.Count, Is.EqualTo(2), "b pushed its assertion to a over mutual TLS");
            Assert.That(nodeB.Count, Is.EqualTo(2), "b pulled a's assertion over mutual TLS");
            Assert.That(nodeA.Root, Is.EqualTo(nodeB.Root));
        });
        Assert.That(await PingsAsync(addressA, caFile, bCert, bKey, cancellationToken), Is.True, "an allowed peer's certificate is served");
        Assert.That(await PingsAsync(addressA, caFile, null, null, cancellationToken), Is.False, "no client certificate");
        Assert.That(await PingsAsync(addressA, caFile, strangerCert, strangerKey, cancellationToken), Is.False, "a certificate from another CA");
        Assert.That(await PingsAsync(addressA, caFile, outsiderCert, outsiderKey, cancellationToken), Is.False, "a certificate of the CA naming no allowed peer");
        Assert.That(nodeA.Count, Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UseStemeDbSyncTls_CertificateFilesReplaced_NewConnectionsGetTheNewCertificate(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string cert, string key) = _pki.Issue(ca, "node-a");
        await using WebApplication a = await StartNodeAsync(new() { ["StemeDbSync:Tls:CertificateFile"] = cert, ["StemeDbSync:Tls:KeyFile"] = key }, tls: true, cancellationToken);
        Uri address = AddressOf(a);
        string before = await ServedCertificateAsync(address, caFile, cancellationToken);

        // Rotation: the new certificate and key are written over the old files, as a certificate manager does.
        (string newCert, string newKey) = _pki.Issue(ca, "node-a-rotated");
        File.Copy(newCert, cert, overwrite: true);
        File.Copy(newKey, key, overwrite: true);
        File.SetLastWriteTimeUtc(cert, DateTime.UtcNow.AddMinutes(1));
        string after = await ServedCertificateAsync(address, caFile, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo("node-a"));
            Assert.That(after, Is.EqualTo("node-a-rotated"), "the rotated certificate is served without a restart");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TokenFileFromConfiguration_PeersSendItAndCallersWithoutItAreRefused(CancellationToken cancellationToken)
    {
        string tokenFile = _pki.Write("token", "  s3cret-token\n");
        string wrongFile = _pki.Write("wrong", "not-the-token");
        await using WebApplication a = await StartNodeAsync(new() { ["StemeDbSync:TokenFile"] = tokenFile }, tls: false, cancellationToken);
        Uri addressA = AddressOf(a);
        SyncNode nodeA = a.Services.GetRequiredService<SyncNode>();
        await using WebApplication b = await StartNodeAsync(new() { ["StemeDbSync:TokenFile"] = tokenFile, ["StemeDbSync:Peers:0"] = addressA.ToString() }, tls: false, cancellationToken);
        await using WebApplication wrong = await StartNodeAsync(new() { ["StemeDbSync:TokenFile"] = wrongFile, ["StemeDbSync:Peers:0"] = addressA.ToString() }, tls: false, cancellationToken);
        SyncNode nodeB = b.Services.GetRequiredService<SyncNode>();
        SyncNode nodeWrong = wrong.Services.GetRequiredService<SyncNode>();
        await nodeB.IngestAsync(TestAssertions.Encode("written on b", nodeB.NodeId), cancellationToken);
        await nodeWrong.IngestAsync(TestAssertions.Encode("written with the wrong token", nodeWrong.NodeId), cancellationToken);

        await nodeB.SyncWithPeerAsync(nodeB.Peers.Single(), cancellationToken);
        var refused = Assert.ThrowsAsync<SyncPeerException>(async () => await nodeWrong.SyncWithPeerAsync(nodeWrong.Peers.Single(), cancellationToken));
        using GrpcSyncPeer anonymous = GrpcSyncPeer.Create(addressA);
        var anonymousRefused = Assert.ThrowsAsync<SyncPeerException>(async () => await anonymous.PingAsync(NodeId.NewId(), cancellationToken));

        Assert.Multiple(() =>
        {
            Assert.That(nodeA.Count, Is.EqualTo(1), "only the peer with the token reached a");
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
            Assert.That(anonymousRefused!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
        });
    }

    private static async Task<WebApplication> StartNodeAsync(Dictionary<string, string?> configuration, bool tls, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
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
        builder.Services.AddStemeDbSync(builder.Configuration.GetSection("StemeDbSync"))
            .ConfigureNode(node => node.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        WebApplication app = builder.Build();
        app.MapStemeDbSync();
        await app.StartAsync(cancellationToken);
        return app;
    }

    private static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    /// <summary>Whether a client with this certificate (or none) gets a ping answered.</summary>
    private static async Task<bool> PingsAsync(Uri address, string caFile, string? certificate, string? key, CancellationToken cancellationToken)
    {
        var handler = new SocketsHttpHandler();
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, served, _, _) => served is not null && ChainsTo(served, roots);
        if (certificate is not null)
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificate, key);
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
        }

        using GrpcSyncPeer peer = GrpcSyncPeer.Create(address, new GrpcSyncPeerOptions { HttpHandler = handler });
        try
        {
            await peer.PingAsync(NodeId.NewId(), cancellationToken);
            return true;
        }
        catch (SyncPeerException)
        {
            return false;
        }
    }

    /// <summary>The common name of the certificate a new connection is served.</summary>
    private static async Task<string> ServedCertificateAsync(Uri address, string caFile, CancellationToken cancellationToken)
    {
        string? served = null;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            served = certificate is null ? null : new X509Certificate2(certificate).GetNameInfo(X509NameType.SimpleName, false);
            return certificate is not null && ChainsTo(certificate, roots);
        };
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(address, new GrpcSyncPeerOptions { HttpHandler = handler });
        await peer.PingAsync(NodeId.NewId(), cancellationToken);
        return served ?? throw new InvalidOperationException("no certificate was served");
    }

    private static bool ChainsTo(X509Certificate certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}

/// <summary>Valid StemeDB assertions for the tests.</summary>
internal static class TestAssertions
{
    public static byte[] Encode(string subject, NodeId author)
    {
        var time = new HlcTimestamp((ulong)DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), 0, author);
        return AssertionCodec.Encode(new Assertion(subject, "test", AssertionValue.FromText("ok"), time, author));
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Sync.AspNetCore.Tests.Support;
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
        Dictionary<string, string?> Tls(string cert, string key) => TestNodes.MutualTls(caFile, cert, key);

        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, Tls(aCert, aKey), tls: true);
        Uri addressA = TestNodes.AddressOf(a);
        SyncNode nodeA = a.Services.GetRequiredService<SyncNode>();
        await nodeA.IngestAsync(TestAssertions.Encode("written on a", nodeA.NodeId), cancellationToken);
        Dictionary<string, string?> configB = Tls(bCert, bKey);
        configB["StemeDbSync:Peers:0"] = addressA.ToString();
        await using WebApplication b = await TestNodes.StartAsync(cancellationToken, configB, tls: true);
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
    public async Task UseStemeDbSyncTls_MutualTls_TheCallerIsKnownByItsCertificateAndRefusalsAreLoggedWithTheirReason(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string aCert, string aKey) = _pki.Issue(ca, "node-a");
        (string bCert, string bKey) = _pki.Issue(ca, "node-b");
        (string outsiderCert, string outsiderKey) = _pki.Issue(ca, "outsider");
        var callers = new List<SyncCaller>();
        var logs = new CapturingLoggerProvider();
        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, TestNodes.MutualTls(caFile, aCert, aKey), tls: true, configure: services =>
        {
            services.AddSingleton<ISyncCallAuthorizer>(new RecordingAuthorizer(callers));
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
        });
        Uri address = TestNodes.AddressOf(a);

        bool allowed = await PingsAsync(address, caFile, bCert, bKey, cancellationToken);
        bool outsider = await PingsAsync(address, caFile, outsiderCert, outsiderKey, cancellationToken);
        bool anonymous = await PingsAsync(address, caFile, null, null, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(allowed, Is.True);
            Assert.That(outsider, Is.False);
            Assert.That(anonymous, Is.False);
            Assert.That(callers, Has.Count.EqualTo(1), "only the allowed caller reached the server");
            Assert.That(callers[0].IsAuthenticated, Is.True, "TLS authenticated the caller");
            Assert.That(callers[0].Key, Does.StartWith("auth:"), "the caller is known by its certificate");
            Assert.That(
                ((global::Grpc.Core.ServerCallContext)callers[0].TransportContext!).AuthContext.PeerIdentity.Select(p => p.Value),
                Does.Contain("node-b"),
                "the certificate the handshake took is the call's");
            Assert.That(logs.Messages("StemeDb.Sync.AspNetCore.Tls"), Is.EquivalentTo(new[]
            {
                "TLS connection from 127.0.0.1 refused: its certificate (CN=outsider) names no allowed peer (0 more such refusals of this source since the last report)",
                "TLS connection from 127.0.0.1 refused: it sent no client certificate (0 more such refusals of this source since the last report)",
            }));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UseStemeDbSyncTls_CertificateFilesReplaced_NewConnectionsGetTheNewCertificateButNotAHalfWrittenOne(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string cert, string key) = _pki.Issue(ca, "node-a");
        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, new() { ["StemeDbSync:Tls:CertificateFile"] = cert, ["StemeDbSync:Tls:KeyFile"] = key }, tls: true);
        Uri address = TestNodes.AddressOf(a);
        string before = await ServedCertificateAsync(address, caFile, cancellationToken);

        // Rotation: the new certificate and key are written over the old files, as a certificate manager does.
        (string newCert, string newKey) = _pki.Issue(ca, "node-a-rotated");
        File.Copy(newCert, cert, overwrite: true);
        File.Copy(newKey, key, overwrite: true);
        File.SetLastWriteTimeUtc(cert, DateTime.UtcNow.AddMinutes(1));
        string after = await ServedCertificateAsync(address, caFile, cancellationToken);

        // A certificate manager caught mid-write: the file cannot be loaded, so the last good certificate stays.
        string complete = File.ReadAllText(cert);
        File.WriteAllText(cert, complete[..(complete.Length / 2)]);
        File.SetLastWriteTimeUtc(cert, DateTime.UtcNow.AddMinutes(2));
        string halfWritten = await ServedCertificateAsync(address, caFile, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo("node-a"));
            Assert.That(after, Is.EqualTo("node-a-rotated"), "the rotated certificate is served without a restart");
            Assert.That(halfWritten, Is.EqualTo("node-a-rotated"), "a half-written file is not used");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TokenFileFromConfiguration_PeersSendItAndCallersWithoutItAreRefused(CancellationToken cancellationToken)
    {
        string tokenFile = _pki.Write("token", "  s3cret-token-0123456789\n");
        string wrongFile = _pki.Write("wrong", "not-the-token-0123456789");
        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, new() { ["StemeDbSync:TokenFile"] = tokenFile }, tls: false);
        Uri addressA = TestNodes.AddressOf(a);
        SyncNode nodeA = a.Services.GetRequiredService<SyncNode>();
        await using WebApplication b = await TestNodes.StartAsync(cancellationToken, new() { ["StemeDbSync:TokenFile"] = tokenFile, ["StemeDbSync:Peers:0"] = addressA.ToString() }, tls: false);
        await using WebApplication wrong = await TestNodes.StartAsync(cancellationToken, new() { ["StemeDbSync:TokenFile"] = wrongFile, ["StemeDbSync:Peers:0"] = addressA.ToString() }, tls: false);
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

    /// <summary>Whether a client with this certificate (or none) gets a ping answered.</summary>
    private static async Task<bool> PingsAsync(Uri address, string caFile, string? certificate, string? key, CancellationToken cancellationToken)
    {
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(address, new GrpcSyncPeerOptions { HttpHandler = TestPki.ClientHandler(caFile, certificate, key) });
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
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(address, new GrpcSyncPeerOptions { HttpHandler = TestPki.ClientHandler(caFile, served: name => served = name) });
        await peer.PingAsync(NodeId.NewId(), cancellationToken);
        return served ?? throw new InvalidOperationException("no certificate was served");
    }
}

/// <summary>An authorizer that lets every call through and records its caller.</summary>
internal sealed class RecordingAuthorizer(List<SyncCaller> callers) : ISyncCallAuthorizer
{
    public ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken)
    {
        lock (callers)
        {
            callers.Add(caller);
        }

        return ValueTask.CompletedTask;
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

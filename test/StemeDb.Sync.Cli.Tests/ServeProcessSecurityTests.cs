using System;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// <c>serve</c> as real processes with certificates made in the test, called by a <c>@grpc/grpc-js</c> client built from
/// the original v1 contract (test/interop/ping.js): mutual TLS between two nodes, and refusals of callers without the
/// right certificate or token.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeProcessSecurityTests
{
    private TestPki _pki = null!;

    [SetUp]
    public void SetUp() => _pki = new TestPki();

    [TearDown]
    public void TearDown() => _pki.Dispose();

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_TwoProcessesWithMutualTls_ConvergeAndGrpcJsCallersWithoutAnAllowedCertificateAreRefused(CancellationToken cancellationToken)
    {
        await NodeJs.EnsureReadyAsync(cancellationToken);
        using var ca = new TestAuthority("stemedb test ca");
        using var otherCa = new TestAuthority("another ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string aCert, string aKey) = _pki.Issue(ca, "node-a");
        (string bCert, string bKey) = _pki.Issue(ca, "node-b");
        (string outsiderCert, string outsiderKey) = _pki.Issue(ca, "outsider");
        (string strangerCert, string strangerKey) = _pki.Issue(otherCa, "stranger");
        string[] Tls(string cert, string key) =>
            ["--tls-cert", cert, "--tls-key", key, "--client-ca", caFile, "--peer-ca", caFile, "--allow-peer", "node-a", "--allow-peer", "node-b"];

        using ServeProcess a = ServeProcess.Start(["serve", "--listen", "https://127.0.0.1:0", .. Tls(aCert, aKey)]);
        Uri addressA = await a.WaitForAddressAsync(cancellationToken);
        using ServeProcess b = ServeProcess.Start(["serve", "--listen", "https://127.0.0.1:0", "--peer", addressA.ToString(), .. Tls(bCert, bKey)]);
        Uri addressB = await b.WaitForAddressAsync(cancellationToken);

        // A record pushed into b reaches a by gossip over mutual TLS.
        AssertionRecord record = TestAssertions.Record("mtls:processes");
        using (GrpcSyncPeer asB = Client(addressB, caFile, bCert, bKey))
        {
            GossipResult pushed = await asB.GossipAsync(record, cancellationToken);
            Assert.That(pushed.Accepted, Is.True, pushed.Error);
        }

        using (GrpcSyncPeer asB = Client(addressA, caFile, bCert, bKey))
        {
            while ((await asB.PingAsync(NodeId.NewId(), cancellationToken)).AssertionCount != 1)
            {
                await Task.Delay(20, cancellationToken);
            }
        }

        string hostA = $"localhost:{addressA.Port}";
        JsonElement allowed = await PingWithGrpcJsAsync(cancellationToken, hostA, "--ca", caFile, "--cert", bCert, "--key", bKey);
        JsonElement noCertificate = await PingWithGrpcJsAsync(cancellationToken, hostA, "--ca", caFile);
        JsonElement otherCaCertificate = await PingWithGrpcJsAsync(cancellationToken, hostA, "--ca", caFile, "--cert", strangerCert, "--key", strangerKey);
        JsonElement notAllowedName = await PingWithGrpcJsAsync(cancellationToken, hostA, "--ca", caFile, "--cert", outsiderCert, "--key", outsiderKey);

        Assert.Multiple(() =>
        {
            Assert.That(allowed.GetProperty("code").GetInt32(), Is.Zero, allowed.ToString());
            Assert.That(allowed.GetProperty("assertion_count").GetString(), Is.EqualTo("1"));
            Assert.That(noCertificate.GetProperty("code").GetInt32(), Is.EqualTo(Unavailable), "refused in the handshake: " + noCertificate);
            Assert.That(otherCaCertificate.GetProperty("code").GetInt32(), Is.EqualTo(Unavailable), "refused in the handshake: " + otherCaCertificate);
            Assert.That(notAllowedName.GetProperty("code").GetInt32(), Is.EqualTo(Unavailable), "refused in the handshake: " + notAllowedName);
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_ProcessWithTokenFile_GrpcJsWithAWrongTokenIsRefusedUnauthenticated(CancellationToken cancellationToken)
    {
        await NodeJs.EnsureReadyAsync(cancellationToken);
        string tokenFile = _pki.Write("token", "process-token-0123456789\n");
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile);
        Uri address = await node.WaitForAddressAsync(cancellationToken);
        string host = $"127.0.0.1:{address.Port}";

        JsonElement right = await PingWithGrpcJsAsync(cancellationToken, host, "--token", "process-token-0123456789");
        JsonElement wrong = await PingWithGrpcJsAsync(cancellationToken, host, "--token", "not-the-token");
        JsonElement none = await PingWithGrpcJsAsync(cancellationToken, host);

        Assert.Multiple(() =>
        {
            Assert.That(right.GetProperty("code").GetInt32(), Is.Zero, right.ToString());
            Assert.That(wrong.GetProperty("code").GetInt32(), Is.EqualTo(Unauthenticated), wrong.ToString());
            Assert.That(none.GetProperty("code").GetInt32(), Is.EqualTo(Unauthenticated), none.ToString());
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_ProcessCleartextBeyondLoopbackWithoutInsecure_ExitsTwoSayingWhatToPass(CancellationToken cancellationToken)
    {
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://0.0.0.0:0");

        int code = await node.WaitForExitAsync(cancellationToken);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(node.Stderr, Does.Contain("--insecure"));
    }

    private const int Unavailable = 14;
    private const int Unauthenticated = 16;

    private static async Task<JsonElement> PingWithGrpcJsAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        (int exit, string stdout, string stderr) = await NodeJs.RunScriptAsync("ping.js", arguments, cancellationToken);
        Assert.That(exit, Is.Zero, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static GrpcSyncPeer Client(Uri address, string caFile, string certificate, string key) =>
        GrpcSyncPeer.Create(address, new GrpcSyncPeerOptions { HttpHandler = TestPki.ClientHandler(caFile, certificate, key) });
}

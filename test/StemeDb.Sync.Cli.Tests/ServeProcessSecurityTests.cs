using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
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

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_ProcessTlsBeyondLoopbackWithoutClientAuthentication_ExitsTwoNamingTheFlagToAdd(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        (string cert, string key) = _pki.Issue(ca, "node-a");
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "https://0.0.0.0:0", "--tls-cert", cert, "--tls-key", key);

        int code = await node.WaitForExitAsync(cancellationToken);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), node.Stderr);
        Assert.That(node.Stderr, Does.Contain("--client-ca").And.Contain("--allow-peer").And.Contain("--token-file"));
        Assert.That(node.Stderr.Trim(), Does.Not.Contain('\n'), "one line");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_ProcessClientCertificateFromAnUnknownCaNamingAnIssuerUrl_IsRefusedWithoutFetchingTheUrl(CancellationToken cancellationToken)
    {
        using var issuerUrl = new CountingHttpServer();
        using var ca = new TestAuthority("stemedb test ca");
        using var unknownCa = new TestAuthority("unknown ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string cert, string key) = _pki.Issue(ca, "node-a");
        (string peerCert, string peerKey) = _pki.Issue(ca, "node-b");

        // The unknown CA is not sent: a chain builder allowed to download would fetch it from the AIA caIssuers URL.
        (string strangerCert, string strangerKey) = _pki.Issue(unknownCa, "stranger", caIssuersUrl: issuerUrl.Url + "issuer.crt");
        using ServeProcess node = ServeProcess.Start(
            "serve", "--listen", "https://127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--client-ca", caFile, "--allow-peer", "node-b", "--allow-peer", "stranger");
        Uri address = await node.WaitForAddressAsync(cancellationToken);

        bool[] refused = new bool[2];
        for (int i = 0; i < refused.Length; i++)
        {
            using GrpcSyncPeer stranger = Client(address, caFile, strangerCert, strangerKey);
            refused[i] = Assert.ThrowsAsync<SyncPeerException>(async () => await stranger.PingAsync(NodeId.NewId(), cancellationToken)) is not null;
        }

        // One more handshake that completes: the refused ones above were over before it started.
        using (GrpcSyncPeer allowed = Client(address, caFile, peerCert, peerKey))
        {
            await allowed.PingAsync(NodeId.NewId(), cancellationToken);
        }

        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.All.True, "the stranger's handshakes are refused");
            Assert.That(issuerUrl.Requests, Is.Zero, "the node fetched the issuer URL of an unauthenticated caller's certificate");
        });
    }

    /// <summary>An HTTP server on loopback that counts the connections made to it and answers each 404.</summary>
    private sealed class CountingHttpServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _accepted;

        public CountingHttpServer()
        {
            _listener.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
            _ = AcceptAsync();
        }

        public string Url { get; }

        /// <summary>Connections accepted so far, and one more when a connection waits to be accepted.</summary>
        public int Requests => Volatile.Read(ref _accepted) + (_listener.Pending() ? 1 : 0);

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    using TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    NetworkStream stream = client.GetStream();
                    byte[] buffer = new byte[4096];
                    _ = await stream.ReadAsync(buffer, _stop.Token);
                    await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or System.IO.IOException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
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

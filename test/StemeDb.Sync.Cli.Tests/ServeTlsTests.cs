using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// Two <c>serve</c> nodes with mutual TLS, from PEM files made here (a CA, a certificate per node, and a stranger from
/// another CA): they gossip to each other, and callers are served only with a client certificate from the CA.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeTlsTests
{
    private TestPki _pki = null!;

    [SetUp]
    public void CreateDirectory() => _pki = new TestPki();

    [TearDown]
    public void DeleteDirectory() => _pki.Dispose();

    [Test]
    [CancelAfter(90_000)]
    public async Task Serve_MutualTls_NodesGossipAndOnlyCallersWithACertificateFromTheCaAreServed(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        using var otherCa = new TestAuthority("another ca");
        string caFile = Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string aCert, string aKey) = Issue(ca, "node-a");
        (string bCert, string bKey) = Issue(ca, "node-b");
        (string strangerCert, string strangerKey) = Issue(otherCa, "stranger");
        string[] tlsA = ["--tls-cert", aCert, "--tls-key", aKey, "--client-ca", caFile, "--peer-ca", caFile];
        string[] tlsB = ["--tls-cert", bCert, "--tls-key", bKey, "--client-ca", caFile, "--peer-ca", caFile];
        string[] asClientB = ["--tls-cert", bCert, "--tls-key", bKey, "--peer-ca", caFile];

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var a = new CliRunner();
        Task<int> servingA = a.StartAsync(["serve", "--listen", "https://127.0.0.1:0", .. tlsA], stop.Token);
        var b = new CliRunner();
        Task<int> servingB = Task.FromResult(0);
        try
        {
            string addressA = await a.WaitForAddressAsync(servingA, cancellationToken);
            servingB = b.StartAsync(["serve", "--listen", "https://127.0.0.1:0", "--peer", addressA, .. tlsB], stop.Token);
            string addressB = await b.WaitForAddressAsync(servingB, cancellationToken);

            (int anonymous, _, string anonymousError) = await CliRunner.RunAsync(string.Empty, "ping", addressA, "--peer-ca", caFile);
            (int stranger, _, _) = await CliRunner.RunAsync(string.Empty, "ping", addressA, "--peer-ca", caFile, "--tls-cert", strangerCert, "--tls-key", strangerKey);
            (int untrusted, _, _) = await CliRunner.RunAsync(string.Empty, ["ping", addressA, "--tls-cert", bCert, "--tls-key", bKey]);
            (int trusted, string trustedOut, string trustedError) = await CliRunner.RunAsync(string.Empty, ["ping", addressA, .. asClientB]);
            Assert.That(anonymous, Is.EqualTo(ExitCodes.Unavailable), "no client certificate");
            Assert.That(anonymousError, Does.StartWith("error:"));
            Assert.That(stranger, Is.EqualTo(ExitCodes.Unavailable), "a client certificate from another CA");
            Assert.That(untrusted, Is.EqualTo(ExitCodes.Unavailable), "the server's certificate is not trusted without --peer-ca");
            Assert.That(trusted, Is.EqualTo(ExitCodes.Success), trustedError);
            Assert.That(trustedOut, Does.Contain(": 0 assertions"));

            // B gossips what it is given to A over mutual TLS, presenting its own certificate.
            (int put, string hash, string putError) = await CliRunner.RunAsync(TestAssertions.Json("user:over-tls"), ["put", addressB, .. asClientB]);
            Assert.That(put, Is.EqualTo(ExitCodes.Success), putError);
            while ((await CliRunner.RunAsync(string.Empty, ["fetch", addressA, hash.Trim(), "--hex", .. asClientB])).Code != ExitCodes.Success)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.That(await servingB, Is.EqualTo(ExitCodes.Success), b.Error);
        Assert.That(await servingA, Is.EqualTo(ExitCodes.Success), a.Error);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_AllowPeer_OnlyTheNamedCertificateIsServed(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string aCert, string aKey) = Issue(ca, "node-a");
        (string bCert, string bKey) = Issue(ca, "node-b");
        (string cCert, string cKey) = Issue(ca, "node-c");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var a = new CliRunner();
        Task<int> servingA = a.StartAsync(
            ["serve", "--listen", "https://127.0.0.1:0", "--tls-cert", aCert, "--tls-key", aKey, "--client-ca", caFile, "--allow-peer", "node-b"],
            stop.Token);
        try
        {
            string addressA = await a.WaitForAddressAsync(servingA, cancellationToken);

            (int named, _, string namedError) = await CliRunner.RunAsync(string.Empty, "ping", addressA, "--peer-ca", caFile, "--tls-cert", bCert, "--tls-key", bKey);
            (int other, _, _) = await CliRunner.RunAsync(string.Empty, "ping", addressA, "--peer-ca", caFile, "--tls-cert", cCert, "--tls-key", cKey);

            Assert.That(named, Is.EqualTo(ExitCodes.Success), namedError);
            Assert.That(other, Is.EqualTo(ExitCodes.Unavailable), "a certificate from the CA that names another peer");
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.That(await servingA, Is.EqualTo(ExitCodes.Success), a.Error);
    }

    [TestCase("https://127.0.0.1:0")]
    public async Task Serve_HttpsWithoutCertificate_ExitsTwo(string listen)
    {
        (int code, _, string error) = await CliRunner.RunAsync(string.Empty, "serve", "--listen", listen);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("--tls-cert"));
    }

    private (string Certificate, string Key) Issue(TestAuthority authority, string name) => _pki.Issue(authority, name);

    private string Write(string name, string pem) => _pki.Write(name, pem);
}

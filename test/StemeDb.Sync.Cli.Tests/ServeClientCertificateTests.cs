using System;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// A <c>serve</c> process with mutual TLS and callers it refuses in the handshake: the command line names the
/// certificate problem (not "the server did not complete the HTTP/2 handshake"), and the node logs why it refused each
/// one, without anything secret.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeClientCertificateTests
{
    private TestPki _pki = null!;

    [SetUp]
    public void SetUp() => _pki = new TestPki();

    [TearDown]
    public void TearDown() => _pki.Dispose();

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_ClientCertificateRefused_CliNamesTheProblemAndServeLogsTheReason(CancellationToken cancellationToken)
    {
        using var ca = new TestAuthority("stemedb test ca");
        using var otherCa = new TestAuthority("another ca");
        string caFile = _pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string nodeCert, string nodeKey) = _pki.Issue(ca, "node-a");
        (string adminCert, string adminKey) = _pki.Issue(ca, "admin");
        (string outsiderCert, string outsiderKey) = _pki.Issue(ca, "outsider");
        (string strangerCert, string strangerKey) = _pki.Issue(otherCa, "stranger");
        (string serverOnlyCert, string serverOnlyKey) = Write("server-only", TestPki.Create(ca, "server-only", usages: [TestPki.ServerAuth]));

        using ServeProcess serve = ServeProcess.Start(
            "serve", "--listen", "https://127.0.0.1:0", "--tls-cert", nodeCert, "--tls-key", nodeKey, "--client-ca", caFile, "--allow-peer", "admin");
        string address = (await serve.WaitForAddressAsync(cancellationToken)).ToString();

        (int none, _, string noneError) = await CliRunner.RunAsync(string.Empty, "ping", address, "--peer-ca", caFile);
        (int stranger, _, string strangerError) = await Ping(address, caFile, strangerCert, strangerKey);
        (int serverOnly, _, string serverOnlyError) = await Ping(address, caFile, serverOnlyCert, serverOnlyKey);
        (int outsider, _, string outsiderError) = await Ping(address, caFile, outsiderCert, outsiderKey);
        (int untrustedServer, _, string untrustedServerError) = await CliRunner.RunAsync(string.Empty, "ping", address, "--tls-cert", adminCert, "--tls-key", adminKey);
        (int admin, string adminOut, string adminError) = await Ping(address, caFile, adminCert, adminKey);

        Assert.Multiple(() =>
        {
            Assert.That(none, Is.EqualTo(ExitCodes.Unavailable));
            Assert.That(noneError, Does.StartWith("error: ").And.Contain("the node refused the TLS handshake: it requires a client certificate (--tls-cert and --tls-key)"));
            foreach ((int code, string error, string file) in new[] { (stranger, strangerError, strangerCert), (serverOnly, serverOnlyError, serverOnlyCert), (outsider, outsiderError, outsiderCert) })
            {
                Assert.That(code, Is.EqualTo(ExitCodes.Unavailable), file);
                Assert.That(error, Does.Contain($"the node refused the TLS handshake with the client certificate '{file}'"));
                Assert.That(error, Does.Not.Contain("HTTP/2 handshake").And.Not.Contain("ObjectDisposedException"));
            }

            Assert.That(untrustedServer, Is.EqualTo(ExitCodes.Unavailable));
            Assert.That(untrustedServerError, Does.Contain("the node's TLS certificate is not trusted").And.Contain("--peer-ca"));
            Assert.That(admin, Is.EqualTo(ExitCodes.Success), adminError);
            Assert.That(adminOut, Does.Contain(": 0 assertions"));
        });

        // The node says why, one line per reason (at Warning, which serve logs without --verbose).
        string missing = await serve.WaitForStderrLineAsync(l => l.Contains("sent no client certificate", StringComparison.Ordinal), "the refusal of no certificate", cancellationToken);
        string untrusted = await serve.WaitForStderrLineAsync(l => l.Contains("(CN=stranger) does not chain to the client CA", StringComparison.Ordinal), "the refusal of another CA's certificate", cancellationToken);
        string usage = await serve.WaitForStderrLineAsync(l => l.Contains("(CN=server-only) does not list the clientAuth extended key usage", StringComparison.Ordinal), "the refusal of a certificate without clientAuth", cancellationToken);
        string notAllowed = await serve.WaitForStderrLineAsync(l => l.Contains("(CN=outsider) names no allowed peer", StringComparison.Ordinal), "the refusal of a certificate naming no allowed peer", cancellationToken);
        Assert.Multiple(() =>
        {
            foreach (string line in new[] { missing, untrusted, usage, notAllowed })
            {
                Assert.That(line, Does.StartWith("warn: ").And.Contain("[12] TLS connection from 127.0.0.1 refused: "));
            }

            Assert.That(serve.Stderr, Does.Not.Contain("PRIVATE KEY").And.Not.Contain("CN=admin"), "nothing secret, and nothing about the caller that was served");
        });

        serve.Signal(15);
        Assert.That(await serve.WaitForExitAsync(cancellationToken), Is.EqualTo(ExitCodes.Success), serve.Stderr);
    }

    private static Task<(int Code, string Out, string Error)> Ping(string address, string caFile, string certificate, string key) =>
        CliRunner.RunAsync(string.Empty, "ping", address, "--peer-ca", caFile, "--tls-cert", certificate, "--tls-key", key);

    private (string Certificate, string Key) Write(string name, X509Certificate2 certificate)
    {
        using (certificate)
        using (ECDsa key = certificate.GetECDsaPrivateKey()!)
        {
            return (_pki.Write(name + ".pem", certificate.ExportCertificatePem()), _pki.Write(name + ".key", key.ExportPkcs8PrivateKeyPem()));
        }
    }
}

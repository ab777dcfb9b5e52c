using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// <c>sync</c> takes the connection options of the other client commands (<c>--token-file</c>, <c>--header</c>,
/// <c>--header-file</c>, <c>--peer-ca</c>, <c>--tls-cert</c>/<c>--tls-key</c>), for the pass's calls as well as the
/// summary's, so it can reconcile with a node that authenticates its callers.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SyncConnectionOptionsTests
{
    private const string Token = "s3cret-token-0123456789";

    [Test]
    [CancelAfter(90_000)]
    public async Task Sync_NodeRequiringAToken_PassesWithTokenFileOrHeaderFileAndIsRefusedWithout(CancellationToken cancellationToken)
    {
        string tokenFile = Path.Combine(Path.GetTempPath(), $"stemedb-token-{Guid.NewGuid():N}");
        string headerFile = tokenFile + "-header";
        await File.WriteAllTextAsync(tokenFile, Token + "\n", cancellationToken);
        await File.WriteAllTextAsync(headerFile, $"Bearer {Token}\n", cancellationToken);
        try
        {
            using ServeProcess serve = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile);
            string address = (await serve.WaitForAddressAsync(cancellationToken)).ToString();
            (int put, _, string putError) = await CliRunner.RunAsync(TestAssertions.Json("user:sync-token"), "put", address, "--token-file", tokenFile);
            Assert.That(put, Is.EqualTo(ExitCodes.Success), putError);

            (int without, _, string withoutError) = await CliRunner.RunAsync(string.Empty, "sync", address);
            (int token, string tokenOut, string tokenError) = await CliRunner.RunAsync(string.Empty, "sync", address, "--token-file", tokenFile);
            (int header, string headerOut, string headerError) = await CliRunner.RunAsync(string.Empty, "sync", address, "--header-file", $"authorization={headerFile}");

            Assert.Multiple(() =>
            {
                Assert.That(without, Is.EqualTo(ExitCodes.Unavailable));
                Assert.That(withoutError, Does.Contain("Unauthenticated"));
                Assert.That(token, Is.EqualTo(ExitCodes.Success), tokenError);
                Assert.That(tokenOut, Does.Contain("fetched 1 (").And.Contain("(match)"));
                Assert.That(header, Is.EqualTo(ExitCodes.Success), headerError);
                Assert.That(headerOut, Does.Contain("fetched 1 (").And.Contain("(match)"));
            });

            serve.Signal(15);
            Assert.That(await serve.WaitForExitAsync(cancellationToken), Is.EqualTo(ExitCodes.Success), serve.Stderr);
        }
        finally
        {
            File.Delete(tokenFile);
            File.Delete(headerFile);
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Sync_NodeWithMutualTls_PassesWithAClientCertificateAndNamesTheProblemWithout(CancellationToken cancellationToken)
    {
        using var pki = new TestPki();
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string nodeCert, string nodeKey) = pki.Issue(ca, "node-a");
        (string adminCert, string adminKey) = pki.Issue(ca, "admin");
        using ServeProcess serve = ServeProcess.Start(
            "serve", "--listen", "https://127.0.0.1:0", "--tls-cert", nodeCert, "--tls-key", nodeKey, "--client-ca", caFile, "--allow-peer", "admin");
        string address = (await serve.WaitForAddressAsync(cancellationToken)).ToString();
        string[] asAdmin = ["--peer-ca", caFile, "--tls-cert", adminCert, "--tls-key", adminKey];
        (int put, _, string putError) = await CliRunner.RunAsync(TestAssertions.Json("user:sync-tls"), ["put", address, .. asAdmin]);
        Assert.That(put, Is.EqualTo(ExitCodes.Success), putError);

        (int without, _, string withoutError) = await CliRunner.RunAsync(string.Empty, "sync", address, "--peer-ca", caFile);
        (int with, string withOut, string withError) = await CliRunner.RunAsync(string.Empty, ["sync", address, .. asAdmin]);

        Assert.Multiple(() =>
        {
            Assert.That(without, Is.EqualTo(ExitCodes.Unavailable));
            Assert.That(withoutError, Does.Contain("the node refused the TLS handshake: it requires a client certificate"));
            Assert.That(with, Is.EqualTo(ExitCodes.Success), withError);
            Assert.That(withOut, Does.Contain("fetched 1 (").And.Contain("(match)"));
        });

        serve.Signal(15);
        Assert.That(await serve.WaitForExitAsync(cancellationToken), Is.EqualTo(ExitCodes.Success), serve.Stderr);
    }

    [Test]
    public async Task Sync_TokenFileToCleartextBeyondLoopback_IsAUsageErrorBeforeAnyCall()
    {
        string tokenFile = Path.Combine(Path.GetTempPath(), $"stemedb-token-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(tokenFile, Token + "\n");
        try
        {
            (int code, string output, string error) = await CliRunner.RunAsync(string.Empty, "sync", "http://10.1.2.3:5000", "--token-file", tokenFile);

            Assert.That(code, Is.EqualTo(ExitCodes.Usage), error);
            Assert.That(error, Does.Contain("--token-file").And.Contain("cleartext"));
            Assert.That(output, Is.Empty, "no pass started");
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }
}

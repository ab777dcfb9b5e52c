using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// <c>serve</c> refuses cleartext beyond loopback without <c>--insecure</c>, and TLS beyond loopback unless callers are
/// authenticated (<c>--client-ca</c> with <c>--allow-peer</c>, or <c>--token-file</c>) or <c>--insecure</c> is given;
/// <c>--token-file</c> makes callers present the token.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeSecurityTests
{
    [TestCase("http://0.0.0.0:0")]
    [TestCase("http://[::]:0")]
    [TestCase("http://10.1.2.3:5000")]
    public async Task Serve_CleartextBeyondLoopbackWithoutInsecure_ExitsTwoSayingWhatToPass(string listen)
    {
        (int code, string output, string error) = await CliRunner.RunAsync(string.Empty, "serve", "--listen", listen);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), output + error);
        Assert.That(error, Does.Contain("--insecure"));
        Assert.That(output, Does.Not.Contain("listening on"));
    }

    [TestCase("https://0.0.0.0:0", false, "--client-ca")]
    [TestCase("https://[::]:0", false, "--token-file")]
    [TestCase("https://10.1.2.3:5000", false, "--insecure")]
    [TestCase("https://0.0.0.0:0", true, "--allow-peer")]
    public async Task Serve_TlsBeyondLoopbackWithoutAuthenticatingCallers_ExitsTwoOnOneLineNamingTheFlag(string listen, bool clientCa, string flag)
    {
        using var pki = new TestPki();
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string cert, string key) = pki.Issue(ca, "node-a");
        string[] args = ["serve", "--listen", listen, "--tls-cert", cert, "--tls-key", key, .. clientCa ? new[] { "--client-ca", caFile } : []];

        (int code, string output, string error) = await CliRunner.RunAsync(string.Empty, args);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), output + error);
        Assert.That(error, Does.Contain(flag));
        Assert.That(error.Trim(), Does.Not.Contain('\n'), "one line");
        Assert.That(output, Does.Not.Contain("listening on"));
    }

    [TestCase("client-ca")]
    [TestCase("token")]
    [TestCase("insecure")]
    [CancelAfter(60_000)]
    public async Task Serve_TlsBeyondLoopbackWithAuthenticatedCallersOrInsecure_Starts(string how, CancellationToken cancellationToken)
    {
        using var pki = new TestPki();
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        string tokenFile = pki.Write("token", "s3cret-token-0123456789\n");
        (string cert, string key) = pki.Issue(ca, "node-a");
        string[] extra = how switch
        {
            "client-ca" => ["--client-ca", caFile, "--allow-peer", "node-b"],
            "token" => ["--token-file", tokenFile],
            _ => ["--insecure"],
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var runner = new CliRunner();
        Task<int> serving = runner.StartAsync(["serve", "--listen", "https://0.0.0.0:0", "--tls-cert", cert, "--tls-key", key, .. extra], stop.Token);

        string address = await runner.WaitForAddressAsync(serving, cancellationToken);
        await stop.CancelAsync();

        Assert.That(await serving, Is.EqualTo(ExitCodes.Success), runner.Error);
        Assert.That(address, Does.StartWith("https://"));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Serve_WithTokenFile_RefusesCallersWithoutItAndSendsItToPeers(CancellationToken cancellationToken)
    {
        string tokenFile = Path.Combine(Path.GetTempPath(), $"stemedb-token-{Guid.NewGuid():N}");
        string wrongFile = tokenFile + "-wrong";
        await File.WriteAllTextAsync(tokenFile, "s3cret-token-0123456789\n", cancellationToken);
        await File.WriteAllTextAsync(wrongFile, "not-it-but-as-long-as-one\n", cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var a = new CliRunner();
        Task<int> servingA = a.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile], stop.Token);
        var b = new CliRunner();
        Task<int> servingB = Task.FromResult(0);
        try
        {
            string addressA = await a.WaitForAddressAsync(servingA, cancellationToken);
            servingB = b.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile, "--peer", addressA], stop.Token);
            string addressB = await b.WaitForAddressAsync(servingB, cancellationToken);

            (int anonymous, _, string anonymousError) = await CliRunner.RunAsync(string.Empty, "ping", addressA);
            (int wrong, _, string wrongError) = await CliRunner.RunAsync(string.Empty, "ping", addressA, "--token-file", wrongFile);
            (int trusted, string trustedOut, string trustedError) = await CliRunner.RunAsync(string.Empty, "ping", addressA, "--token-file", tokenFile);
            Assert.That(anonymous, Is.EqualTo(ExitCodes.Unavailable));
            Assert.That(anonymousError, Does.Contain("Unauthenticated"));
            Assert.That(wrong, Is.EqualTo(ExitCodes.Unavailable));
            Assert.That(wrongError, Does.Contain("Unauthenticated"));
            Assert.That(trusted, Is.EqualTo(ExitCodes.Success), trustedError);
            Assert.That(trustedOut, Does.Contain(": 0 assertions"));

            // B gossips what it is given to A, sending the token; A would refuse the push without it.
            (int put, string hash, string putError) = await CliRunner.RunAsync(TestAssertions.Json("user:tokened"), "put", addressB, "--token-file", tokenFile);
            Assert.That(put, Is.EqualTo(ExitCodes.Success), putError);
            while ((await CliRunner.RunAsync(string.Empty, "fetch", addressA, hash.Trim(), "--hex", "--token-file", tokenFile)).Code != ExitCodes.Success)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        finally
        {
            await stop.CancelAsync();
            File.Delete(tokenFile);
            File.Delete(wrongFile);
        }

        Assert.That(await servingB, Is.EqualTo(ExitCodes.Success), b.Error);
        Assert.That(await servingA, Is.EqualTo(ExitCodes.Success), a.Error);
    }
}

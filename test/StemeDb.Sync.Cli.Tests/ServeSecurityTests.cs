using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary><c>serve</c> refuses cleartext beyond loopback without <c>--insecure</c>, and <c>--token-file</c> makes callers present the token.</summary>
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

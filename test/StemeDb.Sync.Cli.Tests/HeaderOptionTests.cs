using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// <c>--header NAME=VALUE</c> and <c>--header-file NAME=FILE</c> send a header with every call of a client command, so a
/// node whose authorizer requires one (an API key, a token under another scheme) can be inspected; bad names, values and
/// cleartext secrets are usage errors before any call.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HeaderOptionTests
{
    private const string Token = "s3cret-token-0123456789";

    [Test]
    [CancelAfter(90_000)]
    public async Task Ping_HeaderOrHeaderFileCarryingTheCredential_IsServedWhereNoneIsRefused(CancellationToken cancellationToken)
    {
        string tokenFile = Path.Combine(Path.GetTempPath(), $"stemedb-token-{Guid.NewGuid():N}");
        string headerFile = tokenFile + "-header";
        await File.WriteAllTextAsync(tokenFile, Token + "\n", cancellationToken);
        await File.WriteAllTextAsync(headerFile, $"Bearer {Token}\n", cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var server = new CliRunner();
        Task<int> serving = server.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile], stop.Token);
        try
        {
            string address = await server.WaitForAddressAsync(serving, cancellationToken);

            (int without, _, string withoutError) = await CliRunner.RunAsync(string.Empty, "ping", address, "--header", "x-api-key=not-what-it-checks");
            (int header, string headerOut, string headerError) = await CliRunner.RunAsync(string.Empty, "ping", address, "--header", $"Authorization=Bearer {Token}");
            (int file, string fileOut, string fileError) = await CliRunner.RunAsync(string.Empty, "roots", address, "--header-file", $"authorization={headerFile}");

            Assert.That(without, Is.EqualTo(ExitCodes.Unavailable));
            Assert.That(withoutError, Does.Contain("Unauthenticated"));
            Assert.That(header, Is.EqualTo(ExitCodes.Success), headerError);
            Assert.That(headerOut, Does.Contain(": 0 assertions"));
            Assert.That(file, Is.EqualTo(ExitCodes.Success), fileError + fileOut);
        }
        finally
        {
            await stop.CancelAsync();
            File.Delete(tokenFile);
            File.Delete(headerFile);
        }

        Assert.That(await serving, Is.EqualTo(ExitCodes.Success), server.Error);
    }

    [TestCase("--header", "x-api-key", "no equals sign")]
    [TestCase("--header", "=value", "expected NAME=VALUE")]
    [TestCase("--header", "x api key=v", "not a header name")]
    [TestCase("--header", "grpc-timeout=1S", "reserved")]
    [TestCase("--header", "x-key-bin=AAAA", "reserved")]
    [TestCase("--header", "x-api-key=", "empty")]
    [TestCase("--header", "x-api-key=caf\u00e9", "printable ASCII")]
    public async Task Ping_BadHeader_IsAUsageErrorNamingIt(string option, string value, string expected)
    {
        (int code, _, string error) = await CliRunner.RunAsync(string.Empty, "ping", "http://127.0.0.1:1", option, value);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain(option));
        if (expected != "no equals sign")
        {
            Assert.That(error, Does.Contain(expected));
        }
    }

    [Test]
    public async Task Ping_HeaderFileToCleartextBeyondLoopback_IsRefusedBeforeTheFileIsRead()
    {
        (int code, _, string error) = await CliRunner.RunAsync(string.Empty, "ping", "http://10.1.2.3:5000", "--header-file", "x-api-key=/nonexistent/key");

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), error);
        Assert.That(error, Does.Contain("cleartext"));
    }

    [Test]
    public async Task Ping_HeaderAlsoGivenByTokenFile_IsAUsageError()
    {
        string tokenFile = Path.Combine(Path.GetTempPath(), $"stemedb-token-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(tokenFile, Token + "\n");
        try
        {
            (int code, _, string error) = await CliRunner.RunAsync(
                string.Empty, "ping", "http://127.0.0.1:1", "--token-file", tokenFile, "--header", "authorization=Bearer other-token-0123456789");

            Assert.That(code, Is.EqualTo(ExitCodes.Usage), error);
            Assert.That(error, Does.Contain("given twice"));
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }
}

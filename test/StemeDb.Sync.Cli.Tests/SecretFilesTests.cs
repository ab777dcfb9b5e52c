using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// Secrets on the command line: tokens of at least 16 bytes, never sent in cleartext beyond loopback, warnings for secret
/// files others can read, and the files the tool writes (node id, store, export) readable by their owner only.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SecretFilesTests
{
    private const string Token = "0123456789abcdef-cli-token";
    private string _directory = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "stemedb-secrets-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [TestCase("ping")]
    [TestCase("roots")]
    [TestCase("leaves")]
    [TestCase("export")]
    [TestCase("import")]
    public async Task ClientCommand_TokenFileAndCleartextNodeBeyondLoopback_ExitsTwoWithOneLine(string command)
    {
        string tokenFile = Write("token", Token);

        (int code, string output, string error) = await CliRunner.RunAsync(string.Empty, command, "http://192.0.2.1:5000", "--token-file", tokenFile, "--timeout", "1");

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), output + error);
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain("--token-file: http://192.0.2.1:5000 is cleartext beyond this machine").And.Contain("https://"));
    }

    [Test]
    public async Task ClientCommand_TokenFileAndCleartextLoopbackNode_IsNotRefused()
    {
        string tokenFile = Write("token", Token);

        // Nothing listens on port 1: the command gets as far as calling.
        (int code, _, string error) = await CliRunner.RunAsync(string.Empty, "ping", "http://127.0.0.1:1", "--token-file", tokenFile, "--timeout", "5");

        Assert.That(code, Is.EqualTo(ExitCodes.Unavailable), error);
    }

    [TestCase("ping", "http://127.0.0.1:1")]
    [TestCase("serve", "--listen")]
    public async Task Command_TokenFileShorterThan16Bytes_ExitsTwoWithOneLine(string command, string next)
    {
        string tokenFile = Write("token", "fifteen-bytes!!\n");
        string[] arguments = command == "serve"
            ? ["serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile]
            : [command, next, "--token-file", tokenFile];

        (int code, string output, string error) = await CliRunner.RunAsync(string.Empty, arguments);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage), output + error);
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain("--token-file:").And.Contain("15 bytes").And.Contain("at least 16 bytes"));
        Assert.That(output, Does.Not.Contain("listening on"));
    }

    [Test]
    [CancelAfter(60_000)]
    [Platform(Exclude = "Win", Reason = "Unix file modes")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Serve_KeyAndTokenFilesReadableByOthersAndCleartextPeer_WarnsAndSendsNoTokenToThePeer(CancellationToken cancellationToken)
    {
        using var pki = new TestPki();
        using var ca = new TestAuthority("stemedb test ca");
        (string cert, string key) = pki.Issue(ca, "node-a");
        string tokenFile = Write("token", Token);
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        using ServeProcess node = ServeProcess.Start(
            "serve", "--listen", "https://127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--token-file", tokenFile, "--peer", "http://192.0.2.1:5000");
        await node.WaitForAddressAsync(cancellationToken);
        await UntilAsync(() => node.Stderr.Contains("bearer token is not sent", StringComparison.Ordinal) && node.Stderr.Contains("Tls:KeyFile", StringComparison.Ordinal), cancellationToken);
        node.Signal(15);
        await node.WaitForExitAsync(cancellationToken);

        string[] lines = node.Stderr.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.One.Contains($"warning: --token-file '{tokenFile}'").And.Contains("by its group (mode 0640)").And.Contains($"chmod 600 '{tokenFile}'"));
            Assert.That(lines, Has.One.Contains($"KeyFile '{key}'").And.Contains("group and others (mode 0644)").And.Contains($"chmod 600 '{key}'"));
            Assert.That(lines, Has.One.Contains("Peer http://192.0.2.1:5000 is cleartext").And.Contains("bearer token is not sent"));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    [Platform(Exclude = "Win", Reason = "Unix file modes")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task ServeThenExport_DataDirectory_NodeIdStoreAndExportFileAreOwnerOnly(CancellationToken cancellationToken)
    {
        string data = Path.Combine(_directory, "data");
        string exported = Path.Combine(_directory, "backup.stream");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var server = new CliRunner();
        Task<int> serving = server.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--data", data, "--store", "sqlite"], stop.Token);
        string address = await server.WaitForAddressAsync(serving, cancellationToken);
        (int put, _, string putError) = await CliRunner.RunAsync(TestAssertions.Json("user:owner-only"), "put", address);
        (UnixFileMode Mode, bool Exists)[] whileServing = [.. new[] { "assertions.db", "assertions.db-wal", "assertions.db-shm" }.Select(f => Mode(Path.Combine(data, f)))];
        await stop.CancelAsync();
        Assert.That(await serving, Is.EqualTo(ExitCodes.Success), server.Error);
        (int export, _, string exportError) = await CliRunner.RunAsync(string.Empty, "export", "--data", data, "--file", exported);

        Assert.Multiple(() =>
        {
            Assert.That(put, Is.EqualTo(ExitCodes.Success), putError);
            Assert.That(export, Is.EqualTo(ExitCodes.Success), exportError);
            Assert.That(File.GetUnixFileMode(Path.Combine(data, "node-id")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(whileServing, Is.All.EqualTo((UnixFileMode.UserRead | UnixFileMode.UserWrite, true)), "the store and its WAL and shared-memory files");
            Assert.That(File.GetUnixFileMode(exported), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        });
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static (UnixFileMode Mode, bool Exists) Mode(string path) =>
        File.Exists(path) ? (File.GetUnixFileMode(path), true) : (default, false);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}

using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>One real node served by <c>serve --data</c> in this process, driven by the client commands.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeAndClientCommandTests
{
    private readonly CancellationTokenSource _stop = new();
    private CliRunner _server = null!;
    private Task<int> _serving = null!;
    private string _dataDirectory = null!;
    private string _address = null!;

    [OneTimeSetUp]
    public async Task StartServerAsync()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), "stemedb-cli-serve-" + Guid.NewGuid().ToString("N"));
        _server = new CliRunner();
        _serving = _server.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--data", _dataDirectory], _stop.Token);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        _address = await _server.WaitForAddressAsync(_serving, timeout.Token);
    }

    [OneTimeTearDown]
    public async Task StopServerAsync()
    {
        await _stop.CancelAsync();
        int code = await _serving.WaitAsync(TimeSpan.FromSeconds(20));
        _serving.Dispose();
        _stop.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
        Assert.That(code, Is.EqualTo(ExitCodes.Success), _server.Error);
        Assert.That(_server.Out, Does.Contain("stopped"));
    }

    [Test]
    public void Serve_WithDataDirectory_UsesRocksDbAndKeepsTheNodeId()
    {
        Assert.That(_server.Out, Does.Contain("store rocksdb"));
        Assert.That(Directory.Exists(Path.Combine(_dataDirectory, "assertions")), Is.True, "a new data directory holds a RocksDB store");
        string nodeId = File.ReadAllText(Path.Combine(_dataDirectory, "node-id")).Trim();
        Assert.That(_server.Out, Does.Contain("node " + nodeId));
    }

    [Test]
    public async Task Ping_RunningNode_PrintsItsIdAndExitsZero()
    {
        var (code, output, error) = await CliRunner.RunAsync(string.Empty, "ping", _address);

        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
        string nodeId = File.ReadAllText(Path.Combine(_dataDirectory, "node-id")).Trim();
        Assert.That(output, Does.StartWith("node " + nodeId));
    }

    [Test]
    public async Task PutThenFetchLeavesRoots_ValidAssertion_IsStoredAndReadBack()
    {
        string subject = "user:" + Guid.NewGuid().ToString("N");

        var (putCode, putOut, putError) = await CliRunner.RunAsync(TestAssertions.Json(subject), "put", _address);
        string hash = putOut.Trim();
        var (fetchCode, fetchOut, _) = await CliRunner.RunAsync(string.Empty, "fetch", _address, hash);
        var (leavesCode, leavesOut, _) = await CliRunner.RunAsync(string.Empty, "leaves", _address);
        var (rootsCode, rootsOut, _) = await CliRunner.RunAsync(string.Empty, "roots", _address, _address);

        Assert.That(putCode, Is.EqualTo(ExitCodes.Success), putError);
        Assert.That(AssertionHash.TryParse(hash, out _), Is.True);
        Assert.That(fetchCode, Is.EqualTo(ExitCodes.Success));
        Assert.That(fetchOut, Does.Contain($"\"hash\":\"{hash}\""));
        Assert.That(fetchOut, Does.Contain($"\"subject\":\"{subject}\""));
        Assert.That(leavesCode, Is.EqualTo(ExitCodes.Success));
        Assert.That(leavesOut, Does.Contain(hash));
        Assert.That(rootsCode, Is.EqualTo(ExitCodes.Success));
        Assert.That(rootsOut, Does.Contain("roots match"));
    }

    [Test]
    public async Task Put_TimestampFarInTheFuture_IsRejectedWithExitOne()
    {
        long future = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();

        var (code, output, error) = await CliRunner.RunAsync(TestAssertions.Json("user:future", future), "put", _address);

        Assert.That(code, Is.EqualTo(ExitCodes.Failure));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.StartWith("rejected by "));
    }

    [Test]
    public async Task Put_MalformedJson_ExitsInvalidDataWithoutCallingTheNode()
    {
        var (code, _, error) = await CliRunner.RunAsync("{\"subject\":", "put", _address);

        Assert.That(code, Is.EqualTo(ExitCodes.InvalidData));
        Assert.That(error, Does.Contain("not valid Assertion JSON"));
    }

    [Test]
    public async Task Fetch_UnknownHash_ExitsOneAndReportsIt()
    {
        string unknown = new string('a', 64);

        var (code, output, error) = await CliRunner.RunAsync(string.Empty, "fetch", _address, unknown);

        Assert.That(code, Is.EqualTo(ExitCodes.Failure));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("not found: " + unknown));
    }

    [Test]
    public async Task Sync_InMemoryAgainstNode_FetchesEverythingAndRootsMatch()
    {
        await CliRunner.RunAsync(TestAssertions.Json("user:sync-" + Guid.NewGuid().ToString("N")), "put", _address);

        var (code, output, error) = await CliRunner.RunAsync(string.Empty, "sync", _address);

        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output, Does.Contain("(match)"));
        Assert.That(output, Does.Match(@"fetched [1-9]\d*"));
    }

    [Test]
    public async Task Sync_WithDataDirectory_PersistsLocallyAndSecondPassFindsRootsEqual()
    {
        await CliRunner.RunAsync(TestAssertions.Json("user:durable-" + Guid.NewGuid().ToString("N")), "put", _address);
        string local = Path.Combine(Path.GetTempPath(), "stemedb-cli-sync-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (first, firstOut, firstError) = await CliRunner.RunAsync(string.Empty, "sync", _address, "--data", local);
            var (second, secondOut, _) = await CliRunner.RunAsync(string.Empty, "sync", _address, "--data", local);

            Assert.That(first, Is.EqualTo(ExitCodes.Success), firstError);
            Assert.That(firstOut, Does.Match(@"fetched [1-9]\d*"));
            Assert.That(second, Is.EqualTo(ExitCodes.Success));
            Assert.That(secondOut, Does.Contain("roots matched: nothing to exchange"));
            Assert.That(Directory.Exists(Path.Combine(local, "assertions")), Is.True, "a new data directory holds a RocksDB store");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(local, recursive: true);
        }
    }

    [Test]
    public async Task Leaves_MaxOne_PrintsOneLeafAndReportsTruncation()
    {
        await CliRunner.RunAsync(TestAssertions.Json("user:leaf-a-" + Guid.NewGuid().ToString("N")), "put", _address);
        await CliRunner.RunAsync(TestAssertions.Json("user:leaf-b-" + Guid.NewGuid().ToString("N")), "put", _address);

        var (code, output, error) = await CliRunner.RunAsync(string.Empty, "leaves", _address, "--max", "1");

        Assert.That(code, Is.EqualTo(ExitCodes.Success));
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("truncated"));
    }

    [Test]
    public async Task Ping_NothingListening_ExitsUnavailable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (code, _, error) = await CliRunner.RunAsync(string.Empty, "ping", $"http://127.0.0.1:{port}", "--timeout", "5");

        Assert.That(code, Is.EqualTo(ExitCodes.Unavailable));
        Assert.That(error, Does.StartWith("error: Unavailable"));
    }

    [Test]
    public async Task Serve_SameDataDirectoryTwice_ExitsIOErrorNamingTheLock()
    {
        var (code, _, error) = await CliRunner.RunAsync(string.Empty, "serve", "--listen", "http://127.0.0.1:0", "--data", _dataDirectory);

        Assert.That(code, Is.EqualTo(ExitCodes.IOError));
        Assert.That(error, Does.Contain("already open"));
    }
}

using System;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// The node id of a data directory, kept in <c>node-id</c> (the file a hosted node's <c>UseStore(directory, ...)</c>
/// keeps too), and printed one way everywhere: 32 hex digits, as <see cref="NodeId.ToString"/> and the logs print it.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class NodeIdTests
{
    private string _data = null!;

    [SetUp]
    public void SetUp() => _data = Path.Combine(Path.GetTempPath(), "stemedb-node-id-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Serve_DataDirectory_PrintsTheFilesIdAsTheLogAndPingDo(CancellationToken cancellationToken)
    {
        using ServeProcess serve = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--data", _data, "--verbose");
        string address = (await serve.WaitForAddressAsync(cancellationToken)).ToString();
        string printed = Printed().Match(await serve.WaitForLineAsync(l => l.StartsWith("node ", StringComparison.Ordinal), "the node line", cancellationToken)).Groups[1].Value;
        string logged = Logged().Match(await serve.WaitForStderrLineAsync(l => Logged().IsMatch(l), "the serving log line", cancellationToken)).Groups[1].Value;
        (int code, string pingOut, string pingError) = await CliRunner.RunAsync(string.Empty, "ping", address);
        string file = (await File.ReadAllTextAsync(Path.Combine(_data, "node-id"), cancellationToken)).Trim();

        Assert.Multiple(() =>
        {
            Assert.That(printed, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(logged, Is.EqualTo(printed), "the log prints it as serve does");
            Assert.That(code, Is.EqualTo(ExitCodes.Success), pingError);
            Assert.That(pingOut, Does.StartWith($"node {printed} at "), "ping prints it as serve does");
            Assert.That(file, Is.EqualTo(printed), "the file holds it the same way");
        });

        serve.Signal(15);
        Assert.That(await serve.WaitForExitAsync(cancellationToken), Is.EqualTo(ExitCodes.Success), serve.Stderr);
    }

    [TestCase("serve", "--listen", "http://127.0.0.1:0")]
    [TestCase("sync", "http://127.0.0.1:1")]
    [TestCase("import")]
    public async Task DataDirectory_DamagedIdFile_ExitsFiveNamingIt(params string[] command)
    {
        Directory.CreateDirectory(_data);
        string file = Path.Combine(_data, "node-id");
        await File.WriteAllTextAsync(file, "damaged\n");

        (int code, _, string error) = await CliRunner.RunAsync(string.Empty, [.. command, "--data", _data]);

        Assert.That(code, Is.EqualTo(ExitCodes.IOError), error);
        Assert.That(error, Does.Contain(file).And.Contain("does not hold a node id"));
        Assert.That(await File.ReadAllTextAsync(file), Is.EqualTo("damaged\n"), "not replaced by a new id");
    }

    [GeneratedRegex(@"^node ([0-9a-f-]+), store")]
    private static partial Regex Printed();

    [GeneratedRegex(@"StemeDb\.Sync node ([0-9a-f-]+) serving")]
    private static partial Regex Logged();
}

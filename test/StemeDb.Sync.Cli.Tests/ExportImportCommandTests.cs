using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Grpc.Tests.V1Reference;
using StemeDb.Sync.Sqlite;

namespace StemeDb.Sync.Cli.Tests;

/// <summary><c>export</c> and <c>import</c>: data directories, live nodes (ours and v1), files and redirects.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ExportImportCommandTests
{
    private readonly List<string> _directories = new();

    [TearDown]
    public void DeleteDirectories()
    {
        SqliteConnection.ClearAllPools();
        foreach (string directory in _directories)
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        _directories.Clear();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ExportThenImport_DataDirectories_KeepEveryAssertionAndTimestamp()
    {
        List<AssertionRecord> records = await FillStoreAsync(NewDirectory(out string source), 50);

        var export = new CliRunner();
        int exported = await export.StartAsync(["export", "--data", source], CancellationToken.None);
        var import = new CliRunner(binaryInput: export.BinaryOut.ToArray());
        int imported = await import.StartAsync(["import", "--data", NewDirectory(out string target)], CancellationToken.None);

        Assert.That(exported, Is.EqualTo(ExitCodes.Success), export.Error);
        Assert.That(export.Error, Does.Contain("exported 50 records"));
        Assert.That(export.Out, Is.Empty, "the stream goes to standard output as bytes, nothing else");
        Assert.That(imported, Is.EqualTo(ExitCodes.Success), import.Error);
        Assert.That(import.Error, Does.Contain("imported 50 records").And.Contain("50 new"));
        await using StemeDb.Sync.RocksDb.RocksDbAssertionStore store = StemeDb.Sync.RocksDb.RocksDbAssertionStore.Open(Path.Combine(target, "assertions")); // a new data directory's store
        foreach (AssertionRecord record in records)
        {
            Assert.That((await store.GetAsync(record.Hash))?.Timestamp, Is.EqualTo(record.Timestamp));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ExportImport_FileOption_SameBytesAsTheRedirect()
    {
        await FillStoreAsync(NewDirectory(out string source), 5);
        string file = Path.Combine(Directory.CreateDirectory(NewDirectory(out _)).FullName, "backup.stream");

        var redirected = new CliRunner();
        await redirected.StartAsync(["export", "--data", source], CancellationToken.None);
        var (exported, _, exportError) = await CliRunner.RunAsync(string.Empty, "export", "--data", source, "--file", file);
        var (imported, _, importError) = await CliRunner.RunAsync(string.Empty, "import", "--data", NewDirectory(out _), "--file", file);

        Assert.That(exported, Is.EqualTo(ExitCodes.Success), exportError);
        Assert.That(File.ReadAllBytes(file), Is.EqualTo(redirected.BinaryOut.ToArray()));
        Assert.That(imported, Is.EqualTo(ExitCodes.Success), importError);
        Assert.That(importError, Does.Contain("imported 5 records"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Import_TruncatedStream_ExitsInvalidDataNamingTheOffsetAndKeepsTheRecordsBeforeIt()
    {
        await FillStoreAsync(NewDirectory(out string source), 20);
        var export = new CliRunner();
        await export.StartAsync(["export", "--data", source], CancellationToken.None);
        byte[] bytes = export.BinaryOut.ToArray();

        var import = new CliRunner(binaryInput: bytes[..^20]); // the end marker and the last record's last 11 bytes cut off
        int code = await import.StartAsync(["import", "--data", NewDirectory(out string target)], CancellationToken.None);

        Assert.That(code, Is.EqualTo(ExitCodes.InvalidData), import.Error);
        Assert.That(import.Error, Does.Match(@"error: The assertion stream stopped at byte offset \d+ \(record 19\): the stream ends inside a record"));
        Assert.That(import.Error, Does.Contain("19 record(s) before it were stored"));
        await using StemeDb.Sync.RocksDb.RocksDbAssertionStore store = StemeDb.Sync.RocksDb.RocksDbAssertionStore.Open(Path.Combine(target, "assertions")); // a new data directory's store
        Assert.That(await store.CountAsync(), Is.EqualTo(19));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task ExportThenImport_LiveNodes_SecondNodeEndsWithTheSameRoot(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var a = new CliRunner();
        Task<int> servingA = a.StartAsync(["serve", "--listen", "http://127.0.0.1:0"], stop.Token);
        string addressA = await a.WaitForAddressAsync(servingA, cancellationToken);
        var b = new CliRunner();
        Task<int> servingB = b.StartAsync(["serve", "--listen", "http://127.0.0.1:0"], stop.Token);
        string addressB = await b.WaitForAddressAsync(servingB, cancellationToken);
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var (put, _, putError) = await CliRunner.RunAsync(TestAssertions.Json($"user:export-{i}"), "put", addressA);
                Assert.That(put, Is.EqualTo(ExitCodes.Success), putError);
            }

            var export = new CliRunner();
            int exported = await export.StartAsync(["export", addressA], cancellationToken);
            var import = new CliRunner(binaryInput: export.BinaryOut.ToArray());
            int imported = await import.StartAsync(["import", addressB], cancellationToken);
            var (roots, rootsOut, _) = await CliRunner.RunAsync(string.Empty, "roots", addressA, addressB);

            Assert.That(exported, Is.EqualTo(ExitCodes.Success), export.Error);
            Assert.That(imported, Is.EqualTo(ExitCodes.Success), import.Error);
            Assert.That(import.Error, Does.Contain("3 accepted, 0 rejected"));
            Assert.That(roots, Is.EqualTo(ExitCodes.Success), rootsOut);
            Assert.That(rootsOut, Does.Contain("       3  "));
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.That(await servingA, Is.EqualTo(ExitCodes.Success), a.Error);
        Assert.That(await servingB, Is.EqualTo(ExitCodes.Success), b.Error);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ExportThenImport_V1Nodes_PagesFetchesAndFallsBackToUnaryGossip()
    {
        await using ReferenceV1Host source = await ReferenceV1Host.StartAsync();
        await using ReferenceV1Host target = await ReferenceV1Host.StartAsync();
        for (int i = 0; i < 1_500; i++)
        {
            source.Server.Put(TestAssertions.Record($"user:v1-export-{i}"));
        }

        var export = new CliRunner();
        int exported = await export.StartAsync(["export", source.Address.ToString().TrimEnd('/')], CancellationToken.None);
        var push = new CliRunner(binaryInput: export.BinaryOut.ToArray());
        int pushed = await push.StartAsync(["import", target.Address.ToString().TrimEnd('/')], CancellationToken.None);
        var load = new CliRunner(binaryInput: export.BinaryOut.ToArray());
        int loaded = await load.StartAsync(["import", "--data", NewDirectory(out _)], CancellationToken.None);

        Assert.That(exported, Is.EqualTo(ExitCodes.Success), export.Error);
        Assert.That(source.Server.Calls("FetchAssertions"), Is.EqualTo(2), "1,500 fetched in batches of 1,000");
        Assert.That(pushed, Is.EqualTo(ExitCodes.Success), push.Error);
        Assert.That(target.Server.Hashes, Is.EquivalentTo(source.Server.Hashes));
        Assert.That(target.Server.Calls("Gossip"), Is.EqualTo(1_500), "a v1 node takes unary pushes");
        Assert.That(loaded, Is.EqualTo(ExitCodes.Success), load.Error);
        Assert.That(load.Error, Does.Contain("1,500 new"), "records a v1 node sent without HLC are stamped from their content");
    }

    [TestCase("export")]
    [TestCase("import")]
    public async Task ExportImport_NeitherNodeNorData_ExitsUsage(string command)
    {
        var (code, _, error) = await CliRunner.RunAsync(string.Empty, command);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("give a node address or --data DIR"));
    }

    [Test]
    public async Task Export_NodeAndData_ExitsUsage()
    {
        var (code, _, error) = await CliRunner.RunAsync(string.Empty, "export", "http://127.0.0.1:1", "--data", NewDirectory(out _));

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("not both"));
    }

    [Test]
    public async Task Export_DirectoryWithoutStore_ExitsIOErrorAndCreatesNothing()
    {
        string directory = NewDirectory(out _);

        var (code, _, error) = await CliRunner.RunAsync(string.Empty, "export", "--data", directory);

        Assert.That(code, Is.EqualTo(ExitCodes.IOError));
        Assert.That(error, Does.Contain("holds no assertion store"));
        Assert.That(Directory.Exists(directory), Is.False);
    }

    private string NewDirectory(out string path)
    {
        path = Path.Combine(Path.GetTempPath(), "stemedb-cli-stream-" + Guid.NewGuid().ToString("N"));
        _directories.Add(path);
        return path;
    }

    private static async Task<List<AssertionRecord>> FillStoreAsync(string directory, int count)
    {
        Directory.CreateDirectory(directory);
        var records = Enumerable.Range(0, count).Select(i => TestAssertions.Record($"user:stream-{i}-{Guid.NewGuid():N}")).ToList();
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(Path.Combine(directory, "assertions.db"));
        foreach (AssertionRecord record in records)
        {
            await store.PutAsync(record);
        }

        return records;
    }
}

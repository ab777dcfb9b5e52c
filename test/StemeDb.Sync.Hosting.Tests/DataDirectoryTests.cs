using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StemeDb.Sync.Hosting.Internal;
using StemeDb.Sync.Sqlite;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>
/// <c>UseStore(directory, openStore)</c>: the store and the node's id (<c>node-id</c>) side by side, so that a host
/// restarted over the same SQLite file is the same node; a damaged id file stops the start instead of renaming the node.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class DataDirectoryTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "stemedb-data-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task UseStoreInDirectory_RestartOverTheSameDirectory_KeepsTheNodeIdAndTheAssertions(CancellationToken cancellationToken)
    {
        NodeId first;
        using (IHost host = BuildHost(sync => sync.UseStore(_directory, OpenSqlite)))
        {
            await host.StartAsync(cancellationToken);
            SyncNode node = host.Services.GetRequiredService<SyncNode>();
            await node.IngestAsync(TestAssertions.Encode("user:kept"), cancellationToken);
            first = node.NodeId;
            await host.StopAsync(cancellationToken);
            await DisposeAsync(host);
        }

        string file = Path.Combine(_directory, "node-id");
        string written = await File.ReadAllTextAsync(file, cancellationToken);
        using IHost again = BuildHost(sync => sync.UseStore(_directory, OpenSqlite));
        await again.StartAsync(cancellationToken);
        SyncNode restarted = again.Services.GetRequiredService<SyncNode>();
        NodeId second = restarted.NodeId;
        long count = restarted.Count;
        await again.StopAsync(cancellationToken);
        await DisposeAsync(again);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Not.EqualTo(NodeId.Empty));
            Assert.That(second, Is.EqualTo(first), "the same node after a restart");
            Assert.That(count, Is.EqualTo(1), "over the same store");
            Assert.That(written, Is.EqualTo(first + "\n"), "one line of 32 hex digits, as the node id prints");
            Assert.That(Directory.GetFiles(_directory).Select(Path.GetFileName), Is.SupersetOf(new[] { "assertions.db", "node-id" }));
            Assert.That(Directory.GetFiles(_directory, "*.tmp"), Is.Empty);
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(file), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }
        });
    }

    [TestCase("")]
    [TestCase("not a node id\n")]
    [TestCase("00000000000000000000000000000000\n")]
    public void UseStoreInDirectory_DamagedIdFile_StartFailsNamingItAndLeavesIt(string content)
    {
        Directory.CreateDirectory(_directory);
        string file = Path.Combine(_directory, "node-id");
        File.WriteAllText(file, content);
        using IHost host = BuildHost(sync => sync.UseStore(_directory, _ => new InMemoryAssertionStore()));

        var failure = Assert.ThrowsAsync<InvalidDataException>(() => host.StartAsync(CancellationToken.None));

        Assert.That(failure!.Message, Does.Contain(file).And.Contain("does not hold a node id"));
        Assert.That(File.ReadAllText(file), Is.EqualTo(content), "the file is left for the operator to restore");
    }

    [Test]
    public async Task UseStoreInDirectory_NodeIdConfigured_TakesPrecedenceAndNoFileIsMade(CancellationToken cancellationToken)
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["StemeDbSync:NodeId"] = "0f8fad5bd9cb469fa16570867728950e" })
            .Build();
        using IHost host = BuildHost(
            sync => sync.UseStore(_directory, _ => new InMemoryAssertionStore()),
            services => services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName)));

        await host.StartAsync(cancellationToken);
        NodeId id = host.Services.GetRequiredService<SyncNode>().NodeId;
        await host.StopAsync(cancellationToken);

        Assert.That(id, Is.EqualTo(NodeId.Parse("0f8fad5bd9cb469fa16570867728950e")));
        Assert.That(File.Exists(Path.Combine(_directory, "node-id")), Is.False);
    }

    [Test]
    public async Task UseStoreInDirectory_NodeIdSetInCode_TakesPrecedence(CancellationToken cancellationToken)
    {
        NodeId chosen = NodeId.NewId();
        using IHost host = BuildHost(sync => sync.UseStore(_directory, _ => new InMemoryAssertionStore()).ConfigureNode(o => o.NodeId = chosen));

        await host.StartAsync(cancellationToken);
        NodeId id = host.Services.GetRequiredService<SyncNode>().NodeId;
        await host.StopAsync(cancellationToken);

        Assert.That(id, Is.EqualTo(chosen));
    }

    [Test]
    public async Task UseStoreInDirectory_ThenAnotherStore_TheLastChoiceHoldsAndNoIdFileIsMade(CancellationToken cancellationToken)
    {
        var store = new InMemoryAssertionStore();
        using IHost host = BuildHost(sync => sync.UseStore(_directory, _ => new InMemoryAssertionStore()).UseStore(store));

        await host.StartAsync(cancellationToken);
        IAssertionStore used = host.Services.GetRequiredService<IAssertionStore>();
        NodeId id = host.Services.GetRequiredService<SyncNode>().NodeId;
        await host.StopAsync(cancellationToken);

        Assert.That(used, Is.SameAs(store));
        Assert.That(id, Is.Not.EqualTo(NodeId.Empty));
        Assert.That(File.Exists(Path.Combine(_directory, "node-id")), Is.False);
    }

    [Test]
    public void NodeIdFile_WrittenAsAUuidByAnEarlierVersion_IsRead()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "node-id"), "0f8fad5b-d9cb-469f-a165-70867728950e\n");

        NodeId id = NodeIdFile.LoadOrCreate(_directory);

        Assert.That(id, Is.EqualTo(NodeId.Parse("0f8fad5bd9cb469fa16570867728950e")));
    }

    [Test]
    public async Task NodeIdFile_TwoFirstStartsAtOnce_AgreeOnOneId()
    {
        Task<NodeId>[] starts = Enumerable.Range(0, 8).Select(_ => Task.Run(() => NodeIdFile.LoadOrCreate(_directory))).ToArray();

        NodeId[] ids = await Task.WhenAll(starts);

        Assert.That(ids.Distinct().Count(), Is.EqualTo(1));
        Assert.That(NodeIdFile.LoadOrCreate(_directory), Is.EqualTo(ids[0]));
        Assert.That(Directory.GetFiles(_directory, "*.tmp"), Is.Empty);
    }

    private static IAssertionStore OpenSqlite(string directory) => SqliteAssertionStore.Open(Path.Combine(directory, "assertions.db"));

    private static IHost BuildHost(Action<StemeDbSyncBuilder> configure, Func<IServiceCollection, StemeDbSyncBuilder>? add = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        StemeDbSyncBuilder sync = add is null ? builder.Services.AddStemeDbSync() : add(builder.Services);
        configure(sync.ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan));
        return builder.Build();
    }

    private static async Task DisposeAsync(IHost host)
    {
        if (host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }
}

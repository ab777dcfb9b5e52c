using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StemeDb.Sync.Sqlite;

namespace StemeDb.Sync.Consumer.Tests;

/// <summary>A generic host registers the node with AddStemeDbSync and a SQLite store, from the packages.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class HostingTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "stemedb-consumer-host-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task AddStemeDbSync_WithSqliteStore_IngestedAssertionSurvivesHostRestart(CancellationToken cancellationToken)
    {
        // Arrange
        string path = Path.Combine(_directory, "node.db");
        const string nodeId = "0f8fad5b-d9cb-469f-a165-70867728950e";
        byte[] bytes = TestAssertions.Encode("subject:durable", NodeId.Parse(nodeId), TestAssertions.RecentTime);

        // Act: first host run ingests, second host run over the same file reads it back.
        IngestResult ingested;
        IHost first = BuildHost(nodeId, path);
        try
        {
            await first.StartAsync(cancellationToken);
            ingested = await first.Services.GetRequiredService<SyncNode>().IngestAsync(bytes, cancellationToken);
            await first.StopAsync(cancellationToken);
        }
        finally
        {
            await DisposeAsync(first);
        }

        long countAfterRestart;
        AssertionHash rootAfterRestart;
        IHost second = BuildHost(nodeId, path);
        try
        {
            await second.StartAsync(cancellationToken);
            SyncNode node = second.Services.GetRequiredService<SyncNode>();
            countAfterRestart = node.Count;
            rootAfterRestart = node.Root;
            await second.StopAsync(cancellationToken);
        }
        finally
        {
            await DisposeAsync(second);
        }

        // Assert
        AssertionHash expected = SyncProtocol.ComputeRoot([AssertionHash.Compute(bytes)]);
        Assert.Multiple(() =>
        {
            Assert.That(ingested.Added, Is.True);
            Assert.That(countAfterRestart, Is.EqualTo(1));
            Assert.That(rootAfterRestart, Is.EqualTo(expected));
        });
    }

    [Test]
    public async Task AddStemeDbSync_InvalidNodeId_HostRefusesToStartNamingTheSetting(CancellationToken cancellationToken)
    {
        // Arrange
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["StemeDbSync:NodeId"] = "not-a-node-id" });
        builder.Services.AddStemeDbSync(builder.Configuration.GetSection("StemeDbSync"));
        IHost host = builder.Build();

        // Act + Assert
        try
        {
            Assert.That(
                async () => await host.StartAsync(cancellationToken),
                Throws.InvalidOperationException.With.Message.Contains("StemeDbSync:NodeId"));
        }
        finally
        {
            await DisposeAsync(host);
        }
    }

    // The SQLite store is only asynchronously disposable, so the host must be disposed asynchronously.
    private static ValueTask DisposeAsync(IHost host) =>
        host is IAsyncDisposable asyncDisposable ? asyncDisposable.DisposeAsync() : DisposeSynchronously(host);

    private static ValueTask DisposeSynchronously(IHost host)
    {
        host.Dispose();
        return ValueTask.CompletedTask;
    }

    private static IHost BuildHost(string nodeId, string path)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services
            .AddStemeDbSync()
            .ConfigureNode(options => options.NodeId = NodeId.Parse(nodeId))
            .UseStore(_ => SqliteAssertionStore.Open(path));
        return builder.Build();
    }
}

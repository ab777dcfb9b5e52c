using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>The beyond-v1 extensions over Kestrel: paged GetLeaves, Reconcile, GossipBatch, and the fallback against a v1-only grpc-js server.</summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(180_000)]
public class ExtensionTests
{
    [Test]
    public async Task SyncWithPeer_BeyondTenThousandOverKestrel_ConvergesInOnePass(CancellationToken cancellationToken)
    {
        // Arrange: 10,200 shared assertions, 150 only on each side.
        await using SyncNode a = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        await using SyncNode b = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        for (int i = 0; i < 10_200; i++)
        {
            AssertionRecord record = Records.Create($"shared-{i}");
            await a.IngestAsync(record.Data, cancellationToken);
            await b.IngestAsync(record.Data, cancellationToken);
        }

        for (int i = 0; i < 150; i++)
        {
            await a.IngestAsync(Records.Create($"a-{i}").Data, cancellationToken);
            await b.IngestAsync(Records.Create($"b-{i}").Data, cancellationToken);
        }

        await using KestrelHost host = await KestrelHost.StartAsync(b.Handler);
        using GrpcSyncPeer peer = host.CreatePeer();

        // Act
        SyncPassResult pass = await a.SyncWithPeerAsync(peer, cancellationToken);

        // Assert
        Assert.That(pass.Complete, Is.True);
        Assert.That(pass.Fetched, Is.EqualTo(150));
        Assert.That(pass.Pushed, Is.EqualTo(150));
        Assert.That(a.Root, Is.EqualTo(b.Root));
        Assert.That(b.Count, Is.EqualTo(10_500));
    }

    [Test]
    public async Task GetLeavesWithCursor_OverKestrel_PagesThroughEveryLeaf(CancellationToken cancellationToken)
    {
        // Arrange
        await using SyncNode b = await TestNodes.StartAsync();
        for (int i = 0; i < 25; i++)
        {
            await b.IngestAsync(Records.Create($"page-{i}").Data, cancellationToken);
        }

        await using KestrelHost host = await KestrelHost.StartAsync(b.Handler);
        using GrpcSyncPeer peer = host.CreatePeer();

        // Act
        var leaves = new List<AssertionHash>();
        AssertionHash? cursor = null;
        LeavesPage page;
        do
        {
            page = await ((ISyncPeer)peer).GetLeavesAsync(10, cursor, cancellationToken);
            leaves.AddRange(page.Leaves);
            cursor = page.Leaves.Count > 0 ? page.Leaves[^1] : cursor;
        }
        while (page.Truncated);

        // Assert
        Assert.That(leaves, Is.EqualTo((await b.Handler.GetLeavesAsync(0, cancellationToken)).Leaves));
    }

    [Test]
    public async Task Reconcile_MalformedRoundOverKestrel_IsInvalidArgument(CancellationToken cancellationToken)
    {
        await using SyncNode b = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(b.Handler);
        using GrpcSyncPeer peer = host.CreatePeer();

        SyncPeerException? ex = Assert.ThrowsAsync<SyncPeerException>(async () =>
            await ((ISyncPeer)peer).ReconcileAsync(new ReconcileRoundRequest(1, 0, new byte[10], ReadOnlyMemory<byte>.Empty, 0, 0), cancellationToken));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
    }

    [Test]
    public async Task GossipBatch_ValidAndInvalidOverKestrel_AnsweredPerAssertion(CancellationToken cancellationToken)
    {
        // Arrange
        await using SyncNode b = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(b.Handler);
        using GrpcSyncPeer peer = host.CreatePeer();
        AssertionRecord good = Records.Create("batch-good");
        AssertionRecord badContent = Records.WithData("no marker"u8.ToArray());
        AssertionRecord wrongHash = new(Records.Create("other").Hash, Records.Create("batch-x").Data, good.Timestamp);

        // Act
        IReadOnlyList<GossipResult> results = await peer.GossipBatchAsync([good, badContent, wrongHash], cancellationToken);

        // Assert
        Assert.That(results.Select(r => r.Accepted), Is.EqualTo(new[] { true, false, false }));
        Assert.That(results[1].Error, Does.Contain("content"));
        Assert.That(results[2].Error, Does.Contain("does not match"));
        Assert.That(b.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task GossipBatch_ContentValidatorRejectsOne_OthersStoredAndAnsweredInOrder(CancellationToken cancellationToken)
    {
        // Arrange: a node whose content validator refuses assertions containing "blocked".
        await using SyncNode b = await TestNodes.StartAsync(configure: o => o.ContentValidator = new BlockingValidator());
        await using KestrelHost host = await KestrelHost.StartAsync(b.Handler);
        using GrpcSyncPeer peer = host.CreatePeer();
        AssertionRecord[] records = [Records.Create("hook-1"), Records.Create("hook-blocked"), Records.Create("hook-3")];

        // Act
        IReadOnlyList<GossipResult> results = await peer.GossipBatchAsync(records, cancellationToken);

        // Assert
        Assert.That(results.Select(r => r.Accepted), Is.EqualTo(new[] { true, false, true }));
        Assert.That(results[1].Error, Does.Contain("blocked by policy"));
        Assert.That(b.Count, Is.EqualTo(2));
    }

    [Test]
    public async Task GossipBatch_MoreThanOneThousandOverKestrel_IsInvalidArgumentAndStoresNothing(CancellationToken cancellationToken)
    {
        await using SyncNode b = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(b.Handler);
        using global::Grpc.Net.Client.GrpcChannel channel = host.CreateChannel();
        var client = new V1.SyncService.SyncServiceClient(channel);
        var request = new V1.GossipBatchRequest();
        for (int i = 0; i < 1_001; i++)
        {
            AssertionRecord record = Records.Create($"too-many-{i}");
            request.Assertions.Add(new V1.AssertionData
            {
                Hash = Google.Protobuf.ByteString.CopyFrom(record.Hash.ToArray()),
                Data = Google.Protobuf.ByteString.CopyFrom(record.Data.Span),
                HlcTime = record.Timestamp.Time,
                HlcNodeId = Google.Protobuf.ByteString.CopyFrom(record.Timestamp.NodeId.ToArray()),
            });
        }

        global::Grpc.Core.RpcException? ex = Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () =>
            await client.GossipBatchAsync(request, cancellationToken: cancellationToken));

        Assert.That(ex!.StatusCode, Is.EqualTo(global::Grpc.Core.StatusCode.InvalidArgument));
        Assert.That(b.Count, Is.Zero);
    }

    [Test]
    public async Task SyncWithPeer_V1OnlyGrpcJsServerBeyondItsLimit_FallsBackAndConvergesUpToTheV1Limit(CancellationToken cancellationToken)
    {
        // Arrange: the node.js server implements only v1 (no Reconcile, no GossipBatch, no cursor) and holds 10,300 assertions.
        using (var setup = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            await NodeJs.EnsureReadyAsync(setup.Token);
        }

        AssertionRecord[] seed = Enumerable.Range(0, 10_300).Select(i => Records.Create($"js-v1-{i}")).ToArray();
        string seedPath = NodeJs.WriteTempJson(new Dictionary<string, object> { ["records"] = seed.Select(NodeJs.ToJson).ToArray() });
        using Process server = NodeJs.Start("server.js", seedPath);
        try
        {
            string? line = await server.StandardOutput.ReadLineAsync(cancellationToken);
            Assert.That(line, Does.StartWith("LISTENING "));
            int port = int.Parse(line!["LISTENING ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            await using SyncNode node = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
            for (int i = 0; i < 10; i++)
            {
                await node.IngestAsync(Records.Create($"dotnet-v1-{i}").Data, cancellationToken);
            }

            using GrpcSyncPeer peer = GrpcSyncPeer.Create(new Uri($"http://127.0.0.1:{port}"));
            AssertionHash limit = seed.Select(r => r.Hash).Order().ElementAt(9_999);
            int localBelowLimit = (await node.Handler.GetLeavesAsync(0, cancellationToken)).Leaves.Count(h => h < limit);

            // Act
            SyncPassResult first = await node.SyncWithPeerAsync(peer, cancellationToken);
            SyncPassResult second = await node.SyncWithPeerAsync(peer, cancellationToken);

            // Assert: the first 10,000 leaves of the server are reconciled, the rest is beyond v1's reach.
            Assert.That(first.Complete, Is.False);
            Assert.That(first.Fetched, Is.EqualTo(10_000));
            Assert.That(first.Pushed, Is.EqualTo(localBelowLimit));
            Assert.That(second.Fetched, Is.Zero);
            Assert.That(node.Count, Is.EqualTo(10_010));
            Assert.That((await peer.PingAsync(node.NodeId, cancellationToken)).AssertionCount, Is.EqualTo(10_300 + localBelowLimit));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            File.Delete(seedPath);
        }
    }

    private sealed class BlockingValidator : IAssertionContentValidator
    {
        public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
        {
            error = data.IndexOf("blocked"u8) >= 0 ? "blocked by policy" : null;
            return error is null && RkyvAssertionValidator.Instance.TryValidate(data, out error);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.Tests.V1Reference;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>
/// The <c>StreamAssertions</c> extension over real Kestrel: a fresh node bootstraps by one stream from a node of this
/// library and by fetches from a v1-only server; the wire answers to a bad cursor and from a v1 server; a server that
/// dies mid-stream; a client that cancels mid-stream.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public sealed class StreamAssertionsTests
{
    [Test]
    public async Task SyncWithPeer_FreshNodeFromExtensionNode_BootstrapsByOneStream(CancellationToken cancellationToken)
    {
        await using SyncNode server = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        for (int i = 0; i < 3_000; i++)
        {
            await server.IngestAsync(Records.Create($"stream-{i}").Data, cancellationToken);
        }

        await using KestrelHost host = await KestrelHost.StartAsync(server.Handler);
        await using SyncNode client = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        using GrpcSyncPeer peer = host.CreatePeer();

        SyncPassResult pass = await client.SyncWithPeerAsync(peer, cancellationToken);

        Assert.That(pass.RoundTrips, Is.EqualTo(3), "ExchangeRoots, StreamAssertions, ExchangeRoots");
        Assert.That(pass.Fetched, Is.EqualTo(3_000));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    [Test]
    public async Task SyncWithPeer_FreshNodeFromV1Server_FallsBackToFetches(CancellationToken cancellationToken)
    {
        await using ReferenceV1Host host = await ReferenceV1Host.StartAsync();
        AssertionRecord[] seed = Enumerable.Range(0, 2_500).Select(i => Records.Create($"v1-bootstrap-{i}")).ToArray();
        foreach (AssertionRecord record in seed)
        {
            host.Server.Put(record);
        }

        await using SyncNode node = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(host.Address);

        SyncPassResult first = await node.SyncWithPeerAsync(peer, cancellationToken);
        host.Server.Put(Records.Create("v1-bootstrap-late"));
        SyncPassResult second = await node.SyncWithPeerAsync(peer, cancellationToken);

        Assert.That(first.Fetched, Is.EqualTo(2_500));
        Assert.That(host.Server.Calls("FetchAssertions"), Is.EqualTo(4), "2,500 in fetches of 1,000, then the late one");
        Assert.That(second.Fetched, Is.EqualTo(1));
        Assert.That(node.Count, Is.EqualTo(2_501));
    }

    [Test]
    public async Task StreamAssertionsAsync_V1Server_ThrowsUnimplemented(CancellationToken cancellationToken)
    {
        await using ReferenceV1Host host = await ReferenceV1Host.StartAsync();
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(host.Address);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () =>
        {
            await foreach (ReadOnlyMemory<byte> _ in peer.StreamAssertionsAsync(null, 0, cancellationToken))
            {
            }
        });

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unimplemented), ex.Message);
    }

    [Test]
    public async Task StreamAssertions_CursorNotThirtyTwoBytes_InvalidArgument(CancellationToken cancellationToken)
    {
        await using SyncNode node = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(node.Handler);
        using GrpcChannel channel = host.CreateChannel();
        var client = new SyncService.SyncServiceClient(channel);

        using AsyncServerStreamingCall<AssertionChunk> call = client.StreamAssertions(
            new StreamAssertionsRequest { StartAfter = ByteString.CopyFrom(new byte[31]) }, cancellationToken: cancellationToken);
        var ex = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(cancellationToken));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(ex.Status.Detail, Does.Contain("start_after"));
    }

    [Test]
    public async Task SyncWithPeer_ServerDiesMidStream_FailsUnavailableKeepsWhatArrived(CancellationToken cancellationToken)
    {
        await using SyncNode server = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        AssertionRecord[] records = Enumerable.Range(0, 20_000).Select(i => Records.Create($"dies-{i}")).ToArray();
        await server.IngestManyAsync(records.Select(r => (ReadOnlyMemory<byte>)r.Data).ToArray(), cancellationToken);
        KestrelHost host = await KestrelHost.StartAsync(server.Handler);
        await using SyncNode client = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        using GrpcSyncPeer grpc = host.CreatePeer();
        var peer = new KillAfterFirstChunkPeer(grpc, host);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(peer, cancellationToken));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable), ex.Message);
        Assert.That(client.Count, Is.InRange(1, 19_999), "the whole records of what arrived before the server died (at least the first chunk's)");
        await host.DisposeAsync();
    }

    [Test]
    public async Task StreamAssertionsAsync_ClientCancelsMidStream_ThrowsCanceledAndTheServerStreamEnds(CancellationToken cancellationToken)
    {
        await using SyncNode node = await TestNodes.StartAsync();
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using KestrelHost host = await KestrelHost.StartAsync(new StallingHandler(node.Handler, stalled, ended));
        using GrpcSyncPeer peer = host.CreatePeer();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        IAsyncEnumerator<ReadOnlyMemory<byte>> chunks = peer.StreamAssertionsAsync(null, 0, cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        await stalled.Task;
        await cancel.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(async () => await chunks.MoveNextAsync());
        await chunks.DisposeAsync();

        await ended.Task.WaitAsync(cancellationToken); // the server's handler saw the cancellation and ended its stream
        Assert.That(ended.Task.IsCompletedSuccessfully, Is.True);
    }

    /// <summary>A node's handler whose stream sends one chunk, then waits until the call is cancelled.</summary>
    private sealed class StallingHandler(ISyncRequestHandler honest, TaskCompletionSource stalled, TaskCompletionSource ended) : ISyncRequestHandler
    {
        public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(
            ReadOnlyMemory<byte> startAfter, ulong maxRecords, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            try
            {
                yield return new byte[] { 0x89, 0x53, 0x54, 0x4D };
                stalled.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                ended.TrySetResult();
            }
        }

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) => honest.GossipAsync(message, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            honest.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => honest.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            honest.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) => honest.PingAsync(callerNodeId, cancellationToken);
    }

    /// <summary>A peer that kills the server once the first chunk of a stream has arrived.</summary>
    private sealed class KillAfterFirstChunkPeer(GrpcSyncPeer inner, KestrelHost host) : ISyncPeer
    {
        public string Name => inner.Name;

        public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(
            AssertionHash? startAfter, ulong maxRecords, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            bool first = true;
            await foreach (ReadOnlyMemory<byte> chunk in inner.StreamAssertionsAsync(startAfter, maxRecords, cancellationToken))
            {
                yield return chunk;
                if (first)
                {
                    first = false;
                    await host.KillAsync();
                }
            }
        }

        public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default) => inner.GossipAsync(record, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) => inner.ExchangeRootsAsync(local, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => inner.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default) =>
            inner.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
            inner.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) => inner.PingAsync(self, cancellationToken);
    }
}

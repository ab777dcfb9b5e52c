using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Testing;
using StemeDb.Sync.Tests.Streams;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// The streaming pull (<c>StreamAssertions</c>): when a pass streams, the fallback from a peer without it, the resume
/// after a break, cancellation and the per-chunk deadline; the handler's chunks; the guard's lease for the stream.
/// </summary>
[TestFixture]
public sealed class StreamBootstrapTests
{
    private readonly List<SyncNode> _nodes = new();

    [TearDown]
    public async Task TearDownAsync()
    {
        foreach (SyncNode node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
    }

    [TestCase(0, 1, false, ExpectedResult = true, TestName = "ShouldStream_EmptyNodePeerHoldsOne_Streams")]
    [TestCase(0, 0, false, ExpectedResult = false, TestName = "ShouldStream_BothEmpty_DoesNotStream")]
    [TestCase(10, 20_010, false, ExpectedResult = true, TestName = "ShouldStream_PeerHoldsTwiceAndTenThousandMore_Streams")]
    [TestCase(10_001, 20_001, false, ExpectedResult = false, TestName = "ShouldStream_PeerHoldsJustUnderTwice_DoesNotStream")]
    [TestCase(100, 9_000, false, ExpectedResult = false, TestName = "ShouldStream_PeerLeadsByLessThanOnePage_DoesNotStream")]
    [TestCase(500, 600, true, ExpectedResult = true, TestName = "ShouldStream_AnEarlierPullBroke_StreamsToResume")]
    public bool ShouldStream_Rule(long local, long remote, bool resuming) => StreamBootstrap.ShouldStream(local, remote, resuming);

    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_PeerWithoutStream_FallsBackAndDoesNotAskAgain(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, StreamTestKit.Records(20));
        SyncNode client = await NodeAsync(2, []);
        var scripted = new ScriptedStreamHandler(server.Handler); // no stream: Unimplemented
        ISyncPeer peer = Connect(scripted);

        SyncPassResult first = await client.SyncWithPeerAsync(peer, cancellationToken);
        await server.IngestManyAsync(Enumerable.Range(0, 20_000).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i, 5)).ToArray(), cancellationToken);
        SyncPassResult second = await client.SyncWithPeerAsync(peer, cancellationToken);

        Assert.That(scripted.Calls, Has.Count.EqualTo(1), "asked once, then remembered");
        Assert.That(first.Fetched, Is.EqualTo(20));
        Assert.That(second.Fetched, Is.EqualTo(20_000));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_EveryStreamedRecordRefused_DoesNotStreamAgainUntilThePeerGrows(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, StreamTestKit.Records(20));
        var refusing = new SyncNode(EngineTestKit.Options(2, o => o.GossipFanout = 0, new RefuseAllValidator()), new InMemoryAssertionStore());
        _nodes.Add(refusing);
        await refusing.StartAsync(cancellationToken);
        var scripted = new ScriptedStreamHandler(server.Handler) { OnStream = _ => null };
        ISyncPeer peer = Connect(scripted);

        SyncPassResult first = await refusing.SyncWithPeerAsync(peer, cancellationToken);
        SyncPassResult second = await refusing.SyncWithPeerAsync(peer, cancellationToken);
        await server.IngestManyAsync(Enumerable.Range(0, 10_000).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i, 9)).ToArray(), cancellationToken);
        await refusing.SyncWithPeerAsync(peer, cancellationToken);

        Assert.That(first.Rejected, Is.EqualTo(40), "each record refused twice: streamed, then fetched by the diff");
        Assert.That(second.Rejected, Is.EqualTo(20), "fetched by the diff only");
        Assert.That(scripted.Calls, Has.Count.EqualTo(2), "streamed on the first pass, and again once the peer gained 10,000");
        Assert.That(refusing.Count, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_StreamBreaks_NextPassResumesAfterTheLastStoredHash(CancellationToken cancellationToken)
    {
        List<AssertionRecord> records = StreamTestKit.Records(6);
        AssertionRecord[] sorted = records.OrderBy(r => r.Hash).ToArray();
        SyncNode server = await NodeAsync(1, records);
        SyncNode client = await NodeAsync(2, []);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(sorted);
        var scripted = new ScriptedStreamHandler(server.Handler)
        {
            OnStream = call => call == 0 ? BreakingAsync(bytes, (int)offsets[3] + 10) : null, // then the honest stream
        };
        ISyncPeer peer = Connect(scripted);

        var failure = Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(peer, cancellationToken));
        long kept = client.Count;
        SyncPassResult resumed = await client.SyncWithPeerAsync(peer, cancellationToken);

        Assert.That(failure!.Code, Is.EqualTo(SyncStatusCode.Internal), failure.Message);
        Assert.That(kept, Is.EqualTo(3), "the three whole records before the break");
        Assert.That(scripted.Calls, Is.EqualTo(new AssertionHash?[] { null, sorted[2].Hash }));
        Assert.That(resumed.Fetched, Is.EqualTo(3));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_CallerCancelsMidStream_ThrowsCanceledEndsTheServerStreamAndSyncsLater(CancellationToken cancellationToken)
    {
        List<AssertionRecord> records = StreamTestKit.Records(6);
        SyncNode server = await NodeAsync(1, records);
        SyncNode client = await NodeAsync(2, []);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records.OrderBy(r => r.Hash).ToArray());
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var scripted = new ScriptedStreamHandler(server.Handler)
        {
            OnStream = call => call == 0 ? StallingAsync(bytes[..100], stalled, ended) : null,
        };
        ISyncPeer peer = Connect(scripted);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        Task<SyncPassResult> pass = client.SyncWithPeerAsync(peer, cancel.Token).AsTask();
        await stalled.Task;
        await cancel.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(async () => await pass);
        Assert.That(ended.Task.IsCompleted, Is.True, "the server's stream was ended");
        SyncPassResult later = await client.SyncWithPeerAsync(peer, cancellationToken);
        Assert.That(client.Root, Is.EqualTo(server.Root));
        Assert.That(later.Fetched, Is.EqualTo(6));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_StreamStallsPastPerCallDeadline_FailsDeadlineExceeded(CancellationToken cancellationToken)
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        List<AssertionRecord> records = StreamTestKit.Records(6);
        SyncNode server = await NodeAsync(1, records);
        SyncNode client = await NodeAsync(2, [], time);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records.OrderBy(r => r.Hash).ToArray());
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ISyncPeer peer = Connect(new ScriptedStreamHandler(server.Handler) { OnStream = _ => StallingAsync(bytes[..100], stalled, ended) });

        Task<SyncPassResult> pass = client.SyncWithPeerAsync(peer, cancellationToken).AsTask();
        await stalled.Task;
        time.Advance(TimeSpan.FromSeconds(29));
        bool before = pass.IsCompleted;
        time.Advance(TimeSpan.FromSeconds(2));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await pass);
        Assert.That(before, Is.False, "still waiting within the deadline");
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded), ex.Message);
        Assert.That(ended.Task.IsCompleted, Is.True, "the server's stream was ended");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_PeerTricklesChunksWithinThePerCallDeadline_StopsAtTheOverallDeadline(CancellationToken cancellationToken)
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        List<AssertionRecord> records = StreamTestKit.Records(6);
        SyncNode server = await NodeAsync(1, records);
        SyncNode client = await NodeAsync(2, [], time, o => o.MaxStreamPullDuration = TimeSpan.FromSeconds(50));
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records.OrderBy(r => r.Hash).ToArray());
        var asks = System.Threading.Channels.Channel.CreateUnbounded<TaskCompletionSource>();
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ISyncPeer peer = Connect(new ScriptedStreamHandler(server.Handler) { OnStream = _ => TricklingAsync(bytes, asks.Writer, ended) });

        // Each chunk comes 20 s after the one before: within the 30 s per-call deadline, for ever.
        Task<SyncPassResult> pass = client.SyncWithPeerAsync(peer, cancellationToken).AsTask();
        int chunks = 0;
        while (true)
        {
            Task<TaskCompletionSource> ask = asks.Reader.ReadAsync(cancellationToken).AsTask();
            if (await Task.WhenAny(ask, pass) == pass)
            {
                break;
            }

            time.Advance(TimeSpan.FromSeconds(20));
            (await ask).TrySetResult();
            chunks++;
        }

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await pass);
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded), ex.Message);
        Assert.That(ex.Message, Does.Contain("overall deadline"));
        Assert.That(chunks, Is.EqualTo(3), "two chunks within 50 s; the third wait passes it");
        Assert.That(ended.Task.IsCompleted, Is.True, "the server's stream was ended");
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> TricklingAsync(
        byte[] bytes, System.Threading.Channels.ChannelWriter<TaskCompletionSource> asks, TaskCompletionSource ended, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            for (int start = 0; start < bytes.Length; start += 40)
            {
                var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await asks.WriteAsync(go, cancellationToken);
                await go.Task.WaitAsync(cancellationToken);
                yield return bytes[start..Math.Min(bytes.Length, start + 40)];
            }
        }
        finally
        {
            ended.TrySetResult();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StreamAssertionsAsync_RecordsNearTheSizeLimit_SpanChunksOfAtMostOneMebibyte(CancellationToken cancellationToken)
    {
        var random = new Random(7);
        var records = new List<AssertionRecord>();
        for (int i = 0; i < 3; i++)
        {
            byte[] data = new byte[1_000_000];
            random.NextBytes(data);
            records.Add(new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds(), 0, EngineTestKit.NodeIdFor(9))));
        }

        SyncNode server = await NodeAsync(1, records);
        var sizes = new List<int>();
        using var stream = new MemoryStream();
        await foreach (ReadOnlyMemory<byte> chunk in server.Handler.StreamAssertionsAsync(ReadOnlyMemory<byte>.Empty, 0, cancellationToken))
        {
            sizes.Add(chunk.Length);
            stream.Write(chunk.Span);
        }

        SyncNode copy = await NodeAsync(2, []);
        stream.Position = 0;
        await AssertionStream.ImportAsync(stream, copy, cancellationToken: cancellationToken);

        Assert.That(sizes, Has.All.InRange(1, SyncProtocol.MaxStreamChunkBytes));
        Assert.That(sizes.Sum(), Is.GreaterThan(3_000_000));
        Assert.That(copy.Root, Is.EqualTo(server.Root));
    }

    [Test]
    public async Task StreamAssertionsAsync_CursorNotThirtyTwoBytes_RefusesInvalidArgument()
    {
        SyncNode server = await NodeAsync(1, StreamTestKit.Records(2));

        var ex = Assert.Throws<SyncRequestException>(() => server.Handler.StreamAssertionsAsync(new byte[31], 0));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("start_after"));
    }

    [Test]
    public void StreamAssertionsAsync_NodeNotStarted_RefusesUnavailable()
    {
        var node = new SyncNode(EngineTestKit.Options(1), new InMemoryAssertionStore());
        _nodes.Add(node);

        var ex = Assert.Throws<SyncRequestException>(() => node.Handler.StreamAssertionsAsync(ReadOnlyMemory<byte>.Empty, 0));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StreamAssertionsAsync_BehindAGuard_HoldsOneCallUntilTheStreamEnds(CancellationToken cancellationToken)
    {
        SyncNode node = await NodeAsync(1, StreamTestKit.Records(3));
        var server = new SyncServer(node.Handler, new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 }));
        ISyncRequestHandler handler = server.For(new SyncCaller("peer-a"));

        IAsyncEnumerator<ReadOnlyMemory<byte>> chunks = handler.StreamAssertionsAsync(ReadOnlyMemory<byte>.Empty, 0, cancellationToken).GetAsyncEnumerator(cancellationToken);
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        var refused = Assert.ThrowsAsync<SyncRequestException>(async () => await handler.PingAsync(ReadOnlyMemory<byte>.Empty, cancellationToken));
        await chunks.DisposeAsync();
        PingResult ping = await handler.PingAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);

        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
        Assert.That(ping.AssertionCount, Is.EqualTo(3));
    }

    private static ISyncPeer Connect(ISyncRequestHandler handler)
    {
        var network = new InMemoryNetwork();
        network.SetEndpoint("server", handler);
        return network.CreatePeer("client", "server");
    }

    /// <summary>The bytes up to <paramref name="breakAt"/> in chunks of 64, then a failure of the server.</summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> BreakingAsync(byte[] bytes, int breakAt)
    {
        await Task.CompletedTask;
        for (int start = 0; start < breakAt; start += 64)
        {
            yield return bytes.AsMemory(start, Math.Min(64, breakAt - start));
        }

        throw new IOException("The server's disk went away mid-stream.");
    }

    /// <summary>One chunk, then a wait until the call is cancelled; <paramref name="ended"/> is set when the server's stream is disposed.</summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> StallingAsync(
        byte[] first, TaskCompletionSource stalled, TaskCompletionSource ended, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            yield return first;
            stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        finally
        {
            ended.TrySetResult();
        }
    }

    private async Task<SyncNode> NodeAsync(int id, IReadOnlyList<AssertionRecord> records, TimeProvider? time = null, Action<SyncNodeOptions>? configure = null)
    {
        var store = new InMemoryAssertionStore();
        foreach (AssertionRecord record in records)
        {
            await store.PutAsync(record);
        }

        var node = new SyncNode(
            EngineTestKit.Options(id, o =>
            {
                o.GossipFanout = 0;
                configure?.Invoke(o);
            }),
            store,
            timeProvider: time);
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    private sealed class RefuseAllValidator : IAssertionContentValidator
    {
        public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
        {
            error = "this node takes nothing";
            return false;
        }
    }

    /// <summary>A node's handler with a scripted <c>StreamAssertions</c>; records each call's cursor.</summary>
    private sealed class ScriptedStreamHandler(ISyncRequestHandler honest) : ISyncRequestHandler
    {
        /// <summary>The stream for call n; <see langword="null"/> for the honest one. Unset: the RPC is not implemented.</summary>
        public Func<int, IAsyncEnumerable<ReadOnlyMemory<byte>>?>? OnStream { get; init; }

        public List<AssertionHash?> Calls { get; } = new();

        public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default)
        {
            Calls.Add(startAfter.IsEmpty ? null : new AssertionHash(startAfter.Span));
            if (OnStream is null)
            {
                throw new SyncRequestException(SyncStatusCode.Unimplemented, "StreamAssertions is not implemented by this node.");
            }

            return OnStream(Calls.Count - 1) ?? honest.StreamAssertionsAsync(startAfter, maxRecords, cancellationToken);
        }

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) => honest.GossipAsync(message, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            honest.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => honest.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
            honest.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            honest.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) => honest.PingAsync(callerNodeId, cancellationToken);

        ValueTask<ReconcileRoundResponse> ISyncRequestHandler.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken) =>
            honest.ReconcileAsync(request, cancellationToken);

        public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default) =>
            honest.GossipBatchAsync(messages, cancellationToken);
    }
}

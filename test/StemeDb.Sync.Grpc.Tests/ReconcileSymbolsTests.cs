using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>ReconcileSymbols between two nodes over Kestrel: the engine's first choice, and a stream that ends cleanly.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class ReconcileSymbolsTests
{
    [Test]
    public async Task SyncWithPeer_OverKestrel_ReconcilesBySymbolsAndEndsTheStreamCleanly(CancellationToken cancellationToken)
    {
        // Arrange: 200 assertions in common, 3 only on the server, 2 only on the client
        await using SyncNode server = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        await using SyncNode client = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        for (int i = 0; i < 200; i++)
        {
            byte[] data = Records.Create($"shared-{i}").Data.ToArray();
            await server.IngestAsync(data, cancellationToken);
            await client.IngestAsync(data, cancellationToken);
        }

        for (int i = 0; i < 3; i++)
        {
            await server.IngestAsync(Records.Create($"server-{i}").Data, cancellationToken);
        }

        for (int i = 0; i < 2; i++)
        {
            await client.IngestAsync(Records.Create($"client-{i}").Data, cancellationToken);
        }

        var service = new WatchedService(server.Handler);
        await using KestrelHost host = await KestrelHost.StartAsync(server.Handler, new KestrelHostOptions { ServiceFactory = _ => service });
        using GrpcSyncPeer peer = host.CreatePeer();

        // Act
        SyncPassResult pass = await client.SyncWithPeerAsync(peer, cancellationToken);

        // Assert
        Assert.That(pass is { Complete: true, Fetched: 3, Pushed: 2 }, Is.True, pass.ToString());
        Assert.That(client.Root, Is.EqualTo(server.Root));
        Assert.That(service.Calls, Does.Contain(SyncRpc.ReconcileSymbols), "each request of the stream is authorized like a call");
        Assert.That(service.Calls, Does.Not.Contain(SyncRpc.GetLeaves).And.Not.Contain(SyncRpc.Reconcile), "no leaf list and no Reconcile were needed");
        Assert.That(service.SymbolsStreams, Is.EqualTo(new[] { "ended" }), "the client completed the stream and read its end; it did not reset it");
        Assert.That(service.Unexpected, Is.Empty);
    }

    [Test]
    public async Task Exchange_WriteCutShortByTheCallsEnd_ReportsTheCallsStatus(CancellationToken cancellationToken)
    {
        // Arrange: a stream whose write fails as Grpc.Net.Client reports a write cut short by the call's end (CANCELLED,
        // before the call's status is known), and whose response stream then throws that status: a v1 server's UNIMPLEMENTED.
        var invoker = new EndedStreamInvoker(
            new RpcException(new Status(StatusCode.Cancelled, string.Empty, new OperationCanceledException())),
            new RpcException(new Status(StatusCode.Unimplemented, "unknown method")));
        using var peer = new GrpcSyncPeer(new V1.SyncService.SyncServiceClient(invoker), "scripted", null, ownedChannel: null);
        await using IReconcileSymbolsCall call = await ((ISyncPeer)peer).OpenReconcileSymbolsAsync(cancellationToken);

        // Act
        SyncPeerException? failure = Assert.ThrowsAsync<SyncPeerException>(
            async () => await call.ExchangeAsync(new ReconcileSymbolsRequest(SymbolReconciler.Version, 0, 8, 0), cancellationToken));

        // Assert: the call's status, which the engine reads as "no ReconcileSymbols here", not a cancelled call
        Assert.That(failure!.Code, Is.EqualTo(SyncStatusCode.Unimplemented), failure.Message);
        Assert.That(invoker.Writes, Is.EqualTo(1));
    }

    /// <summary>A call invoker whose every duplex stream fails its writes and its reads with the given exceptions.</summary>
    private sealed class EndedStreamInvoker(RpcException writeFailure, RpcException readFailure) : CallInvoker
    {
        public int Writes;

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            new(new Writer<TRequest>(this, writeFailure), new Reader<TResponse>(readFailure), Task.FromResult(new Metadata()), () => readFailure.Status, () => new Metadata(), () => { });

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();

        private sealed class Writer<T>(EndedStreamInvoker owner, RpcException failure) : IClientStreamWriter<T>
        {
            public WriteOptions? WriteOptions { get; set; }

            public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

            public Task WriteAsync(T message, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner.Writes);
                return Task.FromException(failure);
            }

            public Task CompleteAsync() => Task.CompletedTask;
        }

        private sealed class Reader<T>(RpcException failure) : IAsyncStreamReader<T>
        {
            public T Current => throw new InvalidOperationException("No message was read.");

            public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromException<bool>(failure);
        }
    }

    /// <summary>Records the RPCs served, how each ReconcileSymbols stream ended, and unexpected failures.</summary>
    private sealed class WatchedService(ISyncRequestHandler handler) : SyncServiceImpl(new SyncServer(handler))
    {
        public ConcurrentQueue<SyncRpc> Calls { get; } = new();

        public ConcurrentQueue<string> SymbolsStreams { get; } = new();

        public ConcurrentQueue<SyncRpc> Unexpected { get; } = new();

        public override async Task ReconcileSymbols(
            IAsyncStreamReader<V1.ReconcileSymbolsRequest> requestStream, IServerStreamWriter<V1.ReconcileSymbolsResponse> responseStream, ServerCallContext context)
        {
            try
            {
                await base.ReconcileSymbols(requestStream, responseStream, context);
                SymbolsStreams.Enqueue(context.CancellationToken.IsCancellationRequested ? "cancelled" : "ended");
            }
            catch (RpcException ex)
            {
                SymbolsStreams.Enqueue(ex.StatusCode.ToString());
                throw;
            }
        }

        protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context)
        {
            Calls.Enqueue(rpc);
            return default;
        }

        protected override void OnUnexpectedException(SyncRpc rpc, Exception exception, ServerCallContext context) => Unexpected.Enqueue(rpc);
    }
}

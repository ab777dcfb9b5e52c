using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using StemeDb.Sync.Testing.Internal;

namespace StemeDb.Sync.Testing;

/// <content>
/// The server pipeline behind the transport: refusals by the guard and the authorizer, a handler's crash, a server that
/// is gone, cancellation, deadlines and requests over the protocol's limits reach the caller the same way on every
/// transport.
/// </content>
public abstract partial class SyncPeerContractTests
{
    /// <summary>
    /// A call while the caller has as many calls in flight as the guard allows is refused as
    /// <see cref="SyncStatusCode.ResourceExhausted"/>; the call in flight completes, and the next call after it is served.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task AnyCall_OverTheGuardsLimitOfCallsInFlight_FailsResourceExhausted(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 2, cancellationToken).ConfigureAwait(false);
        var held = new HeldCall(SyncRpc.Ping);
        var scripted = new ScriptedHandler(server.Handler) { OnCall = held.HoldAsync };
        ISyncPeer peer = await PeerAsync(Serve(scripted, new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 }), cancellationToken).ConfigureAwait(false);
        var summary = new RootSummary(server.Root, server.Count);

        Task<PingResult> inFlight = peer.PingAsync(NodeFor(2), cancellationToken).AsTask();
        SyncPeerException? refused;
        try
        {
            await held.Entered.WaitAsync(cancellationToken).ConfigureAwait(false);
            refused = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.ExchangeRootsAsync(summary, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            held.Release();
        }

        PingResult ping = await inFlight.ConfigureAwait(false);
        RootExchangeResult after = await peer.ExchangeRootsAsync(summary, cancellationToken).ConfigureAwait(false);

        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted), refused.Message);
        Assert.That(ping.NodeId, Is.EqualTo(server.NodeId));
        Assert.That(after.RootsMatch, Is.True);
    }

    /// <summary>
    /// A caller that goes over the guard's limit of rejected requests (two forged pushes against a limit of one) is refused
    /// as <see cref="SyncStatusCode.ResourceExhausted"/>, whatever it calls next.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task AnyCall_AfterTooManyRejectedRequests_FailsResourceExhausted(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 0, cancellationToken).ConfigureAwait(false);
        var limits = new PeerGuardOptions
        {
            MaxRejectionsPerWindow = 1,
            RejectionWindow = TimeSpan.FromHours(1),
            RefusalDuration = TimeSpan.FromHours(1),
        };
        ISyncPeer peer = await PeerAsync(Serve(server.Handler, limits), cancellationToken).ConfigureAwait(false);
        AssertionRecord valid = Record(1);
        var forged = new AssertionRecord(Record(2).Hash, valid.Data, valid.Timestamp);

        GossipResult first = await peer.GossipAsync(forged, cancellationToken).ConfigureAwait(false);
        GossipResult second = await peer.GossipAsync(forged, cancellationToken).ConfigureAwait(false);
        SyncPeerException? refused = Assert.ThrowsAsync<SyncPeerException>(
            async () => await peer.PingAsync(NodeFor(2), cancellationToken).ConfigureAwait(false));

        Assert.That(first.Accepted, Is.False);
        Assert.That(second.Accepted, Is.False);
        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted), refused.Message);
        Assert.That(server.Count, Is.Zero);
    }

    /// <summary>A call the authorizer refuses as <see cref="SyncStatusCode.PermissionDenied"/> fails with that code and the authorizer's reason; the calls it allows are served.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task FetchAsync_AuthorizerDeniesIt_FailsPermissionDeniedOtherCallsServed(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 2, cancellationToken).ConfigureAwait(false);
        var authorizer = new RecordingAuthorizer(rpc => rpc == SyncRpc.FetchAssertions ? SyncStatusCode.PermissionDenied : null);
        ISyncPeer peer = await PeerAsync(Serve(server.Handler, authorizer: authorizer), cancellationToken).ConfigureAwait(false);

        SyncPeerException? refused = Assert.ThrowsAsync<SyncPeerException>(
            async () => await peer.FetchAsync(HashesOf(1, 2), cancellationToken).ConfigureAwait(false));
        PingResult ping = await peer.PingAsync(NodeFor(2), cancellationToken).ConfigureAwait(false);

        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.PermissionDenied), refused.Message);
        Assert.That(refused.Message, Does.Contain(RecordingAuthorizer.Reason));
        Assert.That(ping.NodeId, Is.EqualTo(server.NodeId));
        Assert.That(authorizer.Calls, Is.EqualTo(new[] { SyncRpc.FetchAssertions, SyncRpc.Ping }));
    }

    /// <summary>A caller the authorizer does not authenticate fails as <see cref="SyncStatusCode.Unauthenticated"/>, and its push is not stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GossipAsync_AuthorizerRefusesTheCaller_FailsUnauthenticatedStoresNothing(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 0, cancellationToken).ConfigureAwait(false);
        var authorizer = new RecordingAuthorizer(_ => SyncStatusCode.Unauthenticated);
        ISyncPeer peer = await PeerAsync(Serve(server.Handler, authorizer: authorizer), cancellationToken).ConfigureAwait(false);

        SyncPeerException? refused = Assert.ThrowsAsync<SyncPeerException>(
            async () => await peer.GossipAsync(Record(1), cancellationToken).ConfigureAwait(false));

        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated), refused.Message);
        Assert.That(server.Count, Is.Zero);
    }

    /// <summary>
    /// A handler that throws an unexpected exception fails the call as <see cref="SyncStatusCode.Internal"/> with a generic
    /// message: neither the exception nor its details reach the caller, on any transport; the server keeps serving.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task FetchAsync_HandlerThrows_FailsInternalWithoutTheExceptionsDetails(CancellationToken cancellationToken)
    {
        const string Detail = "Password=hunter2";
        SyncNode server = await NodeAsync(1, records: 2, cancellationToken).ConfigureAwait(false);
        var scripted = new ScriptedHandler(server.Handler) { OnFetch = (_, _) => throw new InvalidOperationException($"The store failed: {Detail}") };
        ISyncPeer peer = await PeerAsync(scripted, cancellationToken).ConfigureAwait(false);

        SyncPeerException? failed = Assert.ThrowsAsync<SyncPeerException>(
            async () => await peer.FetchAsync(HashesOf(1, 2), cancellationToken).ConfigureAwait(false));
        PingResult ping = await peer.PingAsync(NodeFor(2), cancellationToken).ConfigureAwait(false);

        Assert.That(failed!.Code, Is.EqualTo(SyncStatusCode.Internal), failed.Message);
        Assert.That(failed.Message, Does.Not.Contain(Detail));
        Assert.That(failed.InnerException, Is.Not.InstanceOf<InvalidOperationException>());
        Assert.That(ping.NodeId, Is.EqualTo(server.NodeId));
    }

    /// <summary>A call to a server that is no longer served fails as <see cref="SyncStatusCode.Unavailable"/>.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task PingAsync_ServerGone_FailsUnavailable(CancellationToken cancellationToken)
    {
        SyncNode node = await NodeAsync(1, records: 1, cancellationToken).ConfigureAwait(false);
        SyncServer server = Serve(node.Handler);
        ISyncPeer peer = await PeerAsync(server, cancellationToken).ConfigureAwait(false);
        PingResult before = await peer.PingAsync(NodeFor(2), cancellationToken).ConfigureAwait(false);

        await StopServingAsync(server, cancellationToken).ConfigureAwait(false);
        SyncPeerException? gone = Assert.ThrowsAsync<SyncPeerException>(
            async () => await peer.PingAsync(NodeFor(2), cancellationToken).ConfigureAwait(false));

        Assert.That(before.NodeId, Is.EqualTo(node.NodeId));
        Assert.That(gone!.Code, Is.EqualTo(SyncStatusCode.Unavailable), gone.Message);
    }

    /// <summary>Cancelling the caller's token while the server handles the call throws <see cref="OperationCanceledException"/> to the caller, and the handler sees the cancellation.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task PingAsync_CallerCancelsWhileServed_ThrowsOperationCanceledHandlerSeesIt(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 1, cancellationToken).ConfigureAwait(false);
        var held = new HeldCall(SyncRpc.Ping);
        ISyncPeer peer = await PeerAsync(new ScriptedHandler(server.Handler) { OnCall = held.HoldAsync }, cancellationToken).ConfigureAwait(false);
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        Task<PingResult> ping = peer.PingAsync(NodeFor(2), caller.Token).AsTask();
        await held.Entered.WaitAsync(cancellationToken).ConfigureAwait(false);
        await caller.CancelAsync().ConfigureAwait(false);

        Assert.CatchAsync<OperationCanceledException>(async () => await ping.ConfigureAwait(false));
        await held.Cancelled.WaitAsync(cancellationToken).ConfigureAwait(false); // the server's side of the call ends too
        Assert.That(held.Cancelled.IsCompletedSuccessfully, Is.True);
    }

    /// <summary>A call with a token cancelled beforehand throws <see cref="OperationCanceledException"/>, and nothing reaches the server.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task AnyCall_TokenAlreadyCancelled_ThrowsOperationCanceledBeforeAnyCall(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 1, cancellationToken).ConfigureAwait(false);
        var authorizer = new RecordingAuthorizer();
        ISyncPeer peer = await PeerAsync(Serve(server.Handler, authorizer: authorizer), cancellationToken).ConfigureAwait(false);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync().ConfigureAwait(false);

        Assert.CatchAsync<OperationCanceledException>(async () => await peer.PingAsync(NodeFor(2), cancelled.Token).ConfigureAwait(false));
        Assert.CatchAsync<OperationCanceledException>(async () => await peer.ExchangeRootsAsync(new RootSummary(server.Root, 1), cancelled.Token).ConfigureAwait(false));
        Assert.CatchAsync<OperationCanceledException>(async () => await peer.GetLeavesAsync(10, cancelled.Token).ConfigureAwait(false));
        Assert.CatchAsync<OperationCanceledException>(async () => await peer.FetchAsync(HashesOf(1, 1), cancelled.Token).ConfigureAwait(false));
        Assert.CatchAsync<OperationCanceledException>(async () => await peer.GossipAsync(Record(2), cancelled.Token).ConfigureAwait(false));

        Assert.That(authorizer.Calls, Is.Empty);
    }

    /// <summary>
    /// A node's per-call deadline that passes while the server handles the call fails the node's pass as
    /// <see cref="SyncStatusCode.DeadlineExceeded"/>, and the handler sees the cancellation. The node's clock is advanced
    /// by the test once the call is in the handler: no wall-clock wait.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_PerCallDeadlinePassesWhileServed_FailsDeadlineExceeded(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 2, cancellationToken).ConfigureAwait(false);
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds((long)OldTime).AddDays(1));
        TimeSpan deadline = TimeSpan.FromSeconds(5);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken, timeProvider: clock, peerCallTimeout: deadline).ConfigureAwait(false);
        var held = new HeldCall(SyncRpc.ExchangeRoots);
        ISyncPeer peer = await PeerAsync(new ScriptedHandler(server.Handler) { OnCall = held.HoldAsync }, cancellationToken).ConfigureAwait(false);

        Task<SyncPassResult> pass = client.SyncWithPeerAsync(peer, cancellationToken).AsTask();
        await held.Entered.WaitAsync(cancellationToken).ConfigureAwait(false);
        clock.Advance(deadline);

        SyncPeerException? late = Assert.ThrowsAsync<SyncPeerException>(async () => await pass.ConfigureAwait(false));
        await held.Cancelled.WaitAsync(cancellationToken).ConfigureAwait(false);
        Assert.That(late!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded), late.Message);
        Assert.That(client.Count, Is.Zero);
    }

    /// <summary>
    /// A fetch of more hashes than the protocol allows is the caller's mistake: <see cref="ArgumentException"/> before any
    /// call, nothing reaches the server; a fetch of exactly the limit is served.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task FetchAsync_MoreHashesThanTheProtocolAllows_ThrowsArgumentExceptionBeforeAnyCall(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 2, cancellationToken).ConfigureAwait(false);
        var authorizer = new RecordingAuthorizer();
        ISyncPeer peer = await PeerAsync(Serve(server.Handler, authorizer: authorizer), cancellationToken).ConfigureAwait(false);
        AssertionHash[] tooMany = HashesOf(1, SyncProtocol.MaxFetchHashes + 1);

        Assert.ThrowsAsync<ArgumentException>(async () => await peer.FetchAsync(tooMany, cancellationToken).ConfigureAwait(false));
        Assert.That(authorizer.Calls, Is.Empty, "nothing reached the server");
        IReadOnlyList<AssertionRecord> atTheLimit = await peer.FetchAsync(tooMany[..SyncProtocol.MaxFetchHashes], cancellationToken).ConfigureAwait(false);

        Assert.That(atTheLimit.Select(r => r.Hash), Is.EquivalentTo(HashesOf(1, 2)));
    }

    /// <summary>A gossip batch of more assertions than the protocol allows throws <see cref="ArgumentException"/> before any call; nothing is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GossipBatchAsync_MoreAssertionsThanTheProtocolAllows_ThrowsArgumentExceptionBeforeAnyCall(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 0, cancellationToken).ConfigureAwait(false);
        var authorizer = new RecordingAuthorizer();
        ISyncPeer peer = await PeerAsync(Serve(server.Handler, authorizer: authorizer), cancellationToken).ConfigureAwait(false);

        Assert.ThrowsAsync<ArgumentException>(
            async () => await peer.GossipBatchAsync(RecordsOf(1, SyncProtocol.MaxGossipBatch + 1), cancellationToken).ConfigureAwait(false));

        Assert.That(authorizer.Calls, Is.Empty, "nothing reached the server");
        Assert.That(server.Count, Is.Zero);
    }

    /// <summary>Holds every call of one RPC in the handler until released or cancelled, and tells when one entered and when one saw its cancellation.</summary>
    private sealed class HeldCall
    {
        private readonly SyncRpc _rpc;
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldCall(SyncRpc rpc) => _rpc = rpc;

        public Task Entered => _entered.Task;

        public Task Cancelled => _cancelled.Task;

        public void Release() => _released.TrySetResult();

        public async ValueTask HoldAsync(SyncRpc rpc, CancellationToken cancellationToken)
        {
            if (rpc != _rpc)
            {
                return;
            }

            _entered.TrySetResult();
            try
            {
                await _released.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _cancelled.TrySetResult();
                throw;
            }
        }
    }

    /// <summary>The kit's authorizer: records every call it is asked about, and refuses the ones a test names with the code it names.</summary>
    private sealed class RecordingAuthorizer : ISyncCallAuthorizer
    {
        public const string Reason = "The contract kit's authorizer refuses this call.";

        private readonly Func<SyncRpc, SyncStatusCode?>? _refuse;
        private readonly ConcurrentQueue<SyncRpc> _calls = new();

        public RecordingAuthorizer(Func<SyncRpc, SyncStatusCode?>? refuse = null) => _refuse = refuse;

        public IReadOnlyCollection<SyncRpc> Calls => _calls;

        public ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken)
        {
            _calls.Enqueue(rpc);
            return _refuse?.Invoke(rpc) is { } code
                ? ValueTask.FromException(new SyncRequestException(code, Reason))
                : ValueTask.CompletedTask;
        }
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Shared;

/// <summary>
/// A node's handler that signals after every call it answered (or failed), so that a test waits for the node's
/// background work by its events (a push stored, a pass served) instead of by the clock: check the condition, else
/// wait for the next call, with the test's cancellation as the only bound.
/// </summary>
internal sealed class SignallingHandler : ISyncRequestHandler
{
    private readonly ISyncRequestHandler _inner;
    private readonly SemaphoreSlim _calls;

    /// <param name="inner">The node's handler.</param>
    /// <param name="calls">Released once per call answered; shared by several handlers to wait on any of them (a cluster).</param>
    public SignallingHandler(ISyncRequestHandler inner, SemaphoreSlim? calls = null)
    {
        _inner = inner;
        _calls = calls ?? new SemaphoreSlim(0);
    }

    /// <summary>Returns once <paramref name="condition"/> holds, checking it after every call one of the handlers sharing <paramref name="calls"/> answers.</summary>
    public static async Task WaitUntilAsync(SemaphoreSlim calls, Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await calls.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Returns once <paramref name="condition"/> holds, checking it after every call this handler answers.</summary>
    public Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken) => WaitUntilAsync(_calls, condition, cancellationToken);

    public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
        After(_inner.GossipAsync(message, cancellationToken));

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
        After(_inner.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken));

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        After(_inner.GetLeavesAsync(maxLeaves, cancellationToken));

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
        After(_inner.GetLeavesAsync(maxLeaves, startAfter, cancellationToken));

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
        After(_inner.FetchAsync(hashes, cancellationToken));

    public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) =>
        After(_inner.PingAsync(callerNodeId, cancellationToken));

    public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default) =>
        After(_inner.GossipBatchAsync(messages, cancellationToken));

    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
        _inner.StreamAssertionsAsync(startAfter, maxRecords, cancellationToken);

    ValueTask<ReconcileRoundResponse> ISyncRequestHandler.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken) =>
        After(_inner.ReconcileAsync(request, cancellationToken));

    ValueTask<ReconcileSymbolsResponse> ISyncRequestHandler.ReconcileSymbolsAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken) =>
        After(_inner.ReconcileSymbolsAsync(request, cancellationToken));

    ValueTask<BroadcastResponse> ISyncRequestHandler.BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken) =>
        After(_inner.BroadcastAsync(request, cancellationToken));

    ValueTask<StatusAnswer> ISyncRequestHandler.GetStatusAsync(CancellationToken cancellationToken) =>
        After(_inner.GetStatusAsync(cancellationToken));

    private async ValueTask<T> After<T>(ValueTask<T> call)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        finally
        {
            _calls.Release();
        }
    }
}

using System;
using System.Linq;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>
/// Delegates to an inner handler, except that <c>FetchAsync</c> of <see cref="BlockHash"/> blocks until its call
/// is cancelled, reporting when it started and when it saw the cancellation.
/// </summary>
internal sealed class BlockingHandler : ISyncRequestHandler
{
    private readonly ISyncRequestHandler _inner;
    private TaskCompletionSource _entered = NewSignal();
    private TaskCompletionSource _cancelled = NewSignal();

    public BlockingHandler(ISyncRequestHandler inner) => _inner = inner;

    /// <summary>Fetching this hash blocks.</summary>
    public static AssertionHash BlockHash { get; } = AssertionHash.Compute("block"u8);

    /// <summary>Completes when a blocking call has started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Completes when a blocking call observed its cancellation token.</summary>
    public Task Cancelled => _cancelled.Task;

    public void Reset()
    {
        _entered = NewSignal();
        _cancelled = NewSignal();
    }

    public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default)
    {
        if (hashes.Count != 1 || !hashes[0].Span.SequenceEqual(BlockHash.ToArray()))
        {
            return await _inner.FetchAsync(hashes, cancellationToken);
        }

        _entered.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _cancelled.TrySetResult();
            throw;
        }

        return [];
    }

    public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) => _inner.GossipAsync(message, cancellationToken);

    /// <summary>When set, every root exchange blocks (the first call of an anti-entropy pass).</summary>
    public bool BlockExchangeRoots { get; set; }

    public async ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default)
    {
        if (!BlockExchangeRoots)
        {
            return await _inner.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken);
        }

        _entered.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _cancelled.TrySetResult();
            throw;
        }

        throw new InvalidOperationException("unreachable");
    }

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => _inner.GetLeavesAsync(maxLeaves, cancellationToken);

    public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) => _inner.PingAsync(callerNodeId, cancellationToken);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Server.Internal;

/// <summary>
/// One caller's view of a <see cref="SyncServer"/>: every call is admitted by the guard, authorized, then handed to
/// the node's handler; refusals and rejected pushes count against the caller.
/// </summary>
internal sealed class CallerHandler : ISyncRequestHandler
{
    private const int FixedFieldBytes = 16; // the integers of a message, roughly; the guard counts bytes in flight

    private readonly SyncServer _server;
    private readonly SyncCaller _caller;

    public CallerHandler(SyncServer server, SyncCaller caller)
    {
        _server = server;
        _caller = caller;
    }

    public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.Gossip,
            SizeOf(message),
            message,
            static (handler, m, token) => handler.GossipAsync(m, token),
            static result => !result.Accepted,
            cancellationToken);

    public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long bytes = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            bytes += SizeOf(messages[i]);
        }

        return ServeAsync(
            SyncRpc.GossipBatch,
            bytes,
            messages,
            static (handler, m, token) => handler.GossipBatchAsync(m, token),
            static results => AnyRejected(results),
            cancellationToken);
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.ExchangeRoots,
            callerRoot.Length + FixedFieldBytes,
            (callerRoot, callerCount),
            static (handler, a, token) => handler.ExchangeRootsAsync(a.callerRoot, a.callerCount, token),
            null,
            cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        ServeAsync(SyncRpc.GetLeaves, FixedFieldBytes, maxLeaves, static (handler, max, token) => handler.GetLeavesAsync(max, token), null, cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.GetLeaves,
            startAfter.Length + FixedFieldBytes,
            (maxLeaves, startAfter),
            static (handler, a, token) => handler.GetLeavesAsync(a.maxLeaves, a.startAfter, token),
            null,
            cancellationToken);

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        long bytes = 0;
        for (int i = 0; i < hashes.Count; i++)
        {
            bytes += hashes[i].Length + 2;
        }

        return ServeAsync(SyncRpc.FetchAssertions, bytes, hashes, static (handler, h, token) => handler.FetchAsync(h, token), null, cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) =>
        ServeAsync(SyncRpc.Ping, callerNodeId.Length, callerNodeId, static (handler, id, token) => handler.PingAsync(id, token), null, cancellationToken);

    public ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.Reconcile,
            request.SliceFingerprints.Length + request.Slices.Length + FixedFieldBytes,
            request,
            static (handler, r, token) => handler.ReconcileAsync(r, token),
            null,
            cancellationToken);

    public ValueTask<ReconcileSymbolsResponse> ReconcileSymbolsAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.ReconcileSymbols,
            FixedFieldBytes,
            request,
            static (handler, r, token) => handler.ReconcileSymbolsAsync(r, token),
            null,
            cancellationToken);

    /// <summary>The stream holds its lease (one of the caller's calls in flight) until it ends or is abandoned.</summary>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
        StreamCoreAsync(startAfter, maxRecords, cancellationToken);

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamCoreAsync(
        ReadOnlyMemory<byte> startAfter, ulong maxRecords, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const SyncRpc rpc = SyncRpc.StreamAssertions;
        using PeerGuardLease? lease = _server.Admit(_caller, rpc, startAfter.Length + FixedFieldBytes);
        await _server.AuthorizeAsync(_caller, rpc, lease, cancellationToken).ConfigureAwait(false);
        IAsyncEnumerator<ReadOnlyMemory<byte>> chunks;
        try
        {
            chunks = _server.Handler.StreamAssertionsAsync(startAfter, maxRecords, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (SyncRequestException)
        {
            _server.CountRejection(rpc, lease);
            throw;
        }

        await using (chunks.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await chunks.MoveNextAsync().ConfigureAwait(false);
                }
                catch (SyncRequestException)
                {
                    _server.CountRejection(rpc, lease);
                    throw;
                }

                if (!more)
                {
                    break;
                }

                yield return chunks.Current;
            }
        }
    }

    private static long SizeOf(GossipMessage message) =>
        message.Hash.Length + message.Data.Length + message.HlcNodeId.Length + FixedFieldBytes;

    private static bool AnyRejected(IReadOnlyList<GossipResult> results)
    {
        for (int i = 0; i < results.Count; i++)
        {
            if (!results[i].Accepted)
            {
                return true;
            }
        }

        return false;
    }

    private async ValueTask<T> ServeAsync<TArgument, T>(
        SyncRpc rpc,
        long requestBytes,
        TArgument argument,
        Func<ISyncRequestHandler, TArgument, CancellationToken, ValueTask<T>> call,
        Func<T, bool>? isRejection,
        CancellationToken cancellationToken)
    {
        using PeerGuardLease? lease = _server.Admit(_caller, rpc, requestBytes);
        await _server.AuthorizeAsync(_caller, rpc, lease, cancellationToken).ConfigureAwait(false);
        T result;
        try
        {
            result = await call(_server.Handler, argument, cancellationToken).ConfigureAwait(false);
        }
        catch (SyncRequestException)
        {
            _server.CountRejection(rpc, lease);
            throw;
        }

        if (isRejection is not null && isRejection(result))
        {
            _server.CountRejection(rpc, lease);
        }

        return result;
    }
}

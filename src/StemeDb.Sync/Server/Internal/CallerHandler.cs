using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Server.Internal;

/// <summary>
/// One caller's view of a <see cref="SyncServer"/>: every call is authenticated, admitted by the guard, authorized,
/// then handed to the node's handler; refusals and rejected pushes count against the caller, and the work of each
/// call (the bytes of its answer, or what it made the node verify or walk) is charged to the caller's work budget.
/// </summary>
internal sealed class CallerHandler : ISyncRequestHandler
{
    private const int FixedFieldBytes = 16; // the integers of a message, roughly; the guard counts bytes in flight

    /// <summary>The work charged per call besides its answer's bytes: framing, headers, the call's own bookkeeping.</summary>
    private const int CallWorkBytes = 64;

    private readonly SyncServer _server;
    private readonly SyncCaller _caller;
    private readonly ISyncCallAuthorizer? _transportAuthorizer;

    public CallerHandler(SyncServer server, SyncCaller caller, ISyncCallAuthorizer? transportAuthorizer)
    {
        _server = server;
        _caller = caller;
        _transportAuthorizer = transportAuthorizer;
    }

    public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.Gossip,
            SizeOf(message),
            message,
            static (handler, m, token) => handler.GossipAsync(m, token),
            static (self, lease, m, result) =>
            {
                self.CountPush(SyncRpc.Gossip, lease, result);
                return m.Data.Length;
            },
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
            static (self, lease, m, results) =>
            {
                long data = 0;
                for (int i = 0; i < m.Count; i++)
                {
                    data += m[i].Data.Length;
                }

                // A batch with rejected pushes counts once against the caller (as one rejected request); each rejected
                // push is logged, rate-limited per caller.
                bool anyRejected = false;
                for (int i = 0; i < results.Count; i++)
                {
                    if (!results[i].Accepted)
                    {
                        anyRejected = true;
                        self._server.LogRejectedPush(self._caller, SyncRpc.GossipBatch, results[i].Error ?? string.Empty);
                    }
                }

                if (anyRejected)
                {
                    self._server.CountRejection(SyncRpc.GossipBatch, lease);
                }

                return data;
            },
            cancellationToken);
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.ExchangeRoots,
            callerRoot.Length + FixedFieldBytes,
            (callerRoot, callerCount),
            static (handler, a, token) => handler.ExchangeRootsAsync(a.callerRoot, a.callerCount, token),
            static (_, _, _, _) => SyncProtocol.HashLength,
            cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        ServeAsync(SyncRpc.GetLeaves, FixedFieldBytes, maxLeaves, static (handler, max, token) => handler.GetLeavesAsync(max, token), static (_, _, _, page) => LeavesWork(page), cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.GetLeaves,
            startAfter.Length + FixedFieldBytes,
            (maxLeaves, startAfter),
            static (handler, a, token) => handler.GetLeavesAsync(a.maxLeaves, a.startAfter, token),
            static (_, _, _, page) => LeavesWork(page),
            cancellationToken);

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        long bytes = 0;
        for (int i = 0; i < hashes.Count; i++)
        {
            bytes += hashes[i].Length + 2;
        }

        return ServeAsync(
            SyncRpc.FetchAssertions,
            bytes,
            hashes,
            static (handler, h, token) => handler.FetchAsync(h, token),
            static (_, _, _, records) =>
            {
                long answer = 0;
                for (int i = 0; i < records.Count; i++)
                {
                    answer += records[i].Data.Length + SyncProtocol.HashLength;
                }

                return answer;
            },
            cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) =>
        ServeAsync(SyncRpc.Ping, callerNodeId.Length, callerNodeId, static (handler, id, token) => handler.PingAsync(id, token), static (_, _, _, _) => 0, cancellationToken);

    public ValueTask<StatusAnswer> GetStatusAsync(CancellationToken cancellationToken) =>
        ServeAsync(
            SyncRpc.GetStatus,
            FixedFieldBytes,
            0,
            static (handler, _, token) => handler.GetStatusAsync(token),
            static (_, _, _, answer) => StatusBytes(answer),
            cancellationToken);

    /// <summary>Roughly the bytes of a status answer: its fixed fields, and per peer its name, error and numbers.</summary>
    private static long StatusBytes(StatusAnswer answer)
    {
        long bytes = 96;
        foreach (SyncPeerStatus peer in answer.Status.Peers)
        {
            bytes += 96 + peer.Name.Length + (peer.LastError?.Length ?? 0);
        }

        return bytes;
    }

    public ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.Reconcile,
            request.SliceFingerprints.Length + request.Slices.Length + FixedFieldBytes,
            request,
            static (handler, r, token) => handler.ReconcileAsync(r, token),
            static (_, _, _, answer) =>
            {
                // A round that built a table walked the leaves of the covered slices: up to every leaf the node holds.
                long walked = answer.Table.IsEmpty ? 0 : (long)Math.Min(answer.AssertionCount, (ulong)int.MaxValue) * SyncProtocol.HashLength;
                return answer.Table.Length + answer.Slices.Length + walked;
            },
            cancellationToken);

    public ValueTask<BroadcastResponse> BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        long bytes = request.SenderNodeId.Length + FixedFieldBytes;
        foreach (GossipMessage message in request.Assertions ?? Array.Empty<GossipMessage>())
        {
            bytes += SizeOf(message);
        }

        bytes += (long)(request.Announced?.Count ?? 0) * (SyncProtocol.HashLength + 2);
        return ServeAsync(
            SyncRpc.Broadcast,
            bytes,
            request,
            static (handler, r, token) => handler.BroadcastAsync(r, token),
            static (self, lease, r, answer) =>
            {
                // Work: the payloads pushed, and the announced hashes looked up.
                long work = (long)r.Announced.Count * SyncProtocol.HashLength;
                foreach (GossipMessage message in r.Assertions)
                {
                    work += message.Data.Length;
                }

                bool anyRejected = false;
                foreach (GossipResult result in answer.Results)
                {
                    if (!result.Accepted)
                    {
                        anyRejected = true;
                        self._server.LogRejectedPush(self._caller, SyncRpc.Broadcast, result.Error);
                    }
                }

                if (anyRejected)
                {
                    self._server.CountRejection(SyncRpc.Broadcast, lease);
                }

                return work;
            },
            cancellationToken);
    }

    public ValueTask<ReconcileSymbolsResponse> ReconcileSymbolsAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default) =>
        ServeAsync(
            SyncRpc.ReconcileSymbols,
            FixedFieldBytes,
            request,
            static (handler, r, token) => handler.ReconcileSymbolsAsync(r, token),
            static (_, _, _, answer) => answer.Symbols.Length,
            cancellationToken);

    /// <summary>The stream holds its lease (one of the caller's calls in flight) until it ends or is abandoned.</summary>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
        StreamCoreAsync(startAfter, maxRecords, cancellationToken);

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamCoreAsync(
        ReadOnlyMemory<byte> startAfter, ulong maxRecords, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const SyncRpc rpc = SyncRpc.StreamAssertions;
        using PeerGuardLease? lease = await _server.EnterAsync(_caller, rpc, startAfter.Length + FixedFieldBytes, _transportAuthorizer, cancellationToken).ConfigureAwait(false);
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

                ReadOnlyMemory<byte> chunk = chunks.Current;
                yield return chunk;

                // A stream that spends the caller's work budget slows down to its rate rather than failing.
                if (lease is not null)
                {
                    await lease.ChargeWorkAsync(chunk.Length, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private static long SizeOf(GossipMessage message) =>
        message.Hash.Length + message.Data.Length + message.HlcNodeId.Length + FixedFieldBytes;

    private static long LeavesWork(LeavesPage page) => (long)page.Leaves.Count * SyncProtocol.HashLength;

    /// <summary>A rejected push counts against the caller and is logged naming it (rate-limited).</summary>
    private void CountPush(SyncRpc rpc, PeerGuardLease? lease, GossipResult result)
    {
        if (!result.Accepted)
        {
            _server.CountRejection(rpc, lease);
            _server.LogRejectedPush(_caller, rpc, result.Error ?? string.Empty);
        }
    }

    private async ValueTask<T> ServeAsync<TArgument, T>(
        SyncRpc rpc,
        long requestBytes,
        TArgument argument,
        Func<ISyncRequestHandler, TArgument, CancellationToken, ValueTask<T>> call,
        Func<CallerHandler, PeerGuardLease?, TArgument, T, long> work,
        CancellationToken cancellationToken)
    {
        using PeerGuardLease? lease = await _server.EnterAsync(_caller, rpc, requestBytes, _transportAuthorizer, cancellationToken).ConfigureAwait(false);
        T result;
        try
        {
            result = await call(_server.Handler, argument, cancellationToken).ConfigureAwait(false);
        }
        catch (SyncRequestException)
        {
            _server.CountRejection(rpc, lease);
            lease?.ChargeWork(CallWorkBytes);
            throw;
        }

        long spent = work(this, lease, argument, result);
        lease?.ChargeWork(spent + CallWorkBytes);
        return result;
    }
}

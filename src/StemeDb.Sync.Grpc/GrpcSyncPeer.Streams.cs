using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using StemeDb.Sync.Grpc.Internal;
using StemeDb.Sync.Grpc.V1;
using WireSymbolsRequest = StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest;
using WireSymbolsResponse = StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse;

namespace StemeDb.Sync.Grpc;

/// <content>The streaming calls: <c>ReconcileSymbols</c> (bidirectional) and <c>StreamAssertions</c> (server streaming).</content>
public sealed partial class GrpcSyncPeer
{
    /// <inheritdoc />
    /// <remarks>
    /// Opens one bidirectional stream, carrying the caller's token (and the <see cref="GrpcSyncPeerOptions.Deadline"/>, when
    /// set) for its whole life; each exchange also honours its own token. A v1 server answers <c>UNIMPLEMENTED</c> at the
    /// first exchange: <see cref="SyncPeerException"/> with <see cref="SyncStatusCode.Unimplemented"/>.
    /// </remarks>
    ValueTask<IReconcileSymbolsCall> ISyncPeer.OpenReconcileSymbolsAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<IReconcileSymbolsCall>(cancellationToken);
        }

        CallOptions callOptions = Options(cancellationToken);
        try
        {
            return new ValueTask<IReconcileSymbolsCall>(new SymbolsCall(this, _client.ReconcileSymbols(callOptions), cancellationToken));
        }
        catch (Exception ex) when (Translate(SyncRpc.ReconcileSymbols, ex, cancellationToken) is { } failure)
        {
            return ValueTask.FromException<IReconcileSymbolsCall>(failure);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A v1 server answers <c>UNIMPLEMENTED</c>: <see cref="SyncPeerException"/> with <see cref="SyncStatusCode.Unimplemented"/>,
    /// thrown by the first move of the enumerator. Each chunk is the received message's bytes (not copied); the next
    /// message is read only when the enumerator moves on, so HTTP/2 flow control holds the server back meanwhile.
    /// <see cref="GrpcSyncPeerOptions.Deadline"/>, when set, bounds the whole stream.
    /// </remarks>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(AssertionHash? startAfter, ulong maxRecords, CancellationToken cancellationToken = default)
    {
        var request = new StreamAssertionsRequest { MaxRecords = maxRecords };
        if (startAfter is { } cursor)
        {
            request.StartAfter = WireMapping.Bytes(cursor);
        }

        return StreamCoreAsync(request, cancellationToken);
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamCoreAsync(StreamAssertionsRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        const SyncRpc rpc = SyncRpc.StreamAssertions;
        AsyncServerStreamingCall<AssertionChunk> call;
        try
        {
            call = _client.StreamAssertions(request, Options(cancellationToken));
        }
        catch (Exception ex) when (Translate(rpc, ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }

        using (call)
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (Translate(rpc, ex, cancellationToken) is { } mapped)
                {
                    throw mapped;
                }

                if (!more)
                {
                    break;
                }

                yield return call.ResponseStream.Current.Data.Memory;
            }
        }
    }

    /// <summary>One open <c>ReconcileSymbols</c> stream: a write and a read per exchange, failures mapped like unary calls.</summary>
    private sealed class SymbolsCall : IReconcileSymbolsCall
    {
        /// <summary>How long disposing waits for the server to end the stream after the last request.</summary>
        private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(5);

        private readonly GrpcSyncPeer _peer;
        private readonly AsyncDuplexStreamingCall<WireSymbolsRequest, WireSymbolsResponse> _call;
        private readonly CancellationToken _streamToken;
        private bool _completed;

        public SymbolsCall(GrpcSyncPeer peer, AsyncDuplexStreamingCall<WireSymbolsRequest, WireSymbolsResponse> call, CancellationToken streamToken)
        {
            _peer = peer;
            _call = call;
            _streamToken = streamToken;
        }

        public async ValueTask<ReconcileSymbolsResponse> ExchangeAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _streamToken);
            try
            {
                Exception? ended = null;
                try
                {
                    await _call.RequestStream.WriteAsync(WireMapping.ToWire(request), linked.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is InvalidOperationException || (ex is RpcException && !linked.Token.IsCancellationRequested))
                {
                    // The call ended before or while the request was written (a v1 server's UNIMPLEMENTED, say). A write that
                    // the call's end cut short reports CANCELLED, not the call's status: the response stream, read below,
                    // throws that status.
                    ended = ex;
                }

                bool answered = await _call.ResponseStream.MoveNext(linked.Token).ConfigureAwait(false);
                if (ended is RpcException)
                {
                    ExceptionDispatchInfo.Throw(ended); // the call ended without a failed status: the write's own failure, mapped below
                }

                if (ended is not null)
                {
                    throw new SyncPeerException(
                        SyncStatusCode.Unavailable, $"{SyncRpc.ReconcileSymbols} to {_peer.Name} failed: {ended.Message}", ended);
                }

                if (!answered)
                {
                    throw new SyncPeerException(
                        SyncStatusCode.InvalidResponse,
                        $"{SyncRpc.ReconcileSymbols} to {_peer.Name} returned an answer outside the protocol: the stream ended without an answer.");
                }

                return WireMapping.FromWire(_call.ResponseStream.Current);
            }
            catch (Exception ex) when (_peer.Translate(SyncRpc.ReconcileSymbols, ex, linked.Token) is { } failure)
            {
                throw failure;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            try
            {
                // Ends the requests, then waits (briefly) for the server's end of the stream, so that it ends cleanly rather
                // than by a reset, which the server would see as a failed read.
                await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
                using var wait = new CancellationTokenSource(EndWait, _peer._options.TimeProvider);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(_streamToken, wait.Token);
                while (await _call.ResponseStream.MoveNext(linked.Token).ConfigureAwait(false))
                {
                    // An answer nobody asked for: the stream ends here all the same.
                }
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or OperationCanceledException or IOException)
            {
                // The stream already failed or was cancelled: nothing is left to end.
            }
            finally
            {
                _call.Dispose();
            }
        }
    }
}

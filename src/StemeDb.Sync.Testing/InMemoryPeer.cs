using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Testing;

/// <summary>
/// The view one endpoint of an <see cref="InMemoryNetwork"/> has of another; copies every request and answer. Forwards
/// the wire extensions when <see cref="InMemoryNetwork.ForwardExtensions"/> is set, and otherwise behaves as a v1 peer.
/// A request over the protocol's limits (more than <see cref="SyncProtocol.MaxFetchHashes"/> hashes to fetch, more than
/// <see cref="SyncProtocol.MaxGossipBatch"/> assertions in a batch) throws <see cref="ArgumentException"/> before any call,
/// as the gRPC peer does.
/// </summary>
internal sealed class InMemoryPeer : ISyncPeer
{
    private readonly InMemoryNetwork _network;
    private readonly string _from;

    public InMemoryPeer(InMemoryNetwork network, string from, string to)
    {
        _network = network;
        _from = from;
        Name = to;
    }

    public string Name { get; }

    public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        GossipMessage message = ToMessage(record);
        return _network.CallAsync(_from, Name,
 SyncRpc.Gossip, (handler, ct) => handler.GossipAsync(message, ct), cancellationToken);
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default)
    {
        byte[] root = local.Root.ToArray();
        return _network.CallAsync(_from, Name,
 SyncRpc.ExchangeRoots, (handler, ct) => handler.ExchangeRootsAsync(root, (ulong)Math.Max(0, local.Count), ct), cancellationToken);
    }

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        _network.CallAsync(
            _from,
            Name,
            SyncRpc.GetLeaves,
            async (handler, ct) =>
            {
                LeavesPage page = await handler.GetLeavesAsync(maxLeaves, ct).ConfigureAwait(false);
                return new LeavesPage(new List<AssertionHash>(page.Leaves), page.Truncated);
            },
            cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default)
    {
        if (!_network.ForwardExtensions || startAfter is null)
        {
            return GetLeavesAsync(maxLeaves, cancellationToken); // a v1 peer ignores the cursor
        }

        byte[] cursor = startAfter.Value.ToArray();
        return _network.CallAsync(
            _from,
            Name,
            SyncRpc.GetLeaves,
            async (handler, ct) =>
            {
                LeavesPage page = await handler.GetLeavesAsync(maxLeaves, cursor, ct).ConfigureAwait(false);
                return new LeavesPage(new List<AssertionHash>(page.Leaves), page.Truncated);
            },
            cancellationToken);
    }

    ValueTask<ReconcileRoundResponse> ISyncPeer.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken)
    {
        if (!_network.ForwardExtensions)
        {
            return ValueTask.FromException<ReconcileRoundResponse>(Unimplemented("Reconcile"));
        }

        ReconcileRoundRequest copy = request with
        {
            SliceFingerprints = request.SliceFingerprints.ToArray(),
            Slices = request.Slices.ToArray(),
        };
        return _network.CallAsync(
            _from,
            Name,
            SyncRpc.Reconcile,
            async (handler, ct) =>
            {
                ReconcileRoundResponse response = await handler.ReconcileAsync(copy, ct).ConfigureAwait(false);
                return response with { Slices = response.Slices.ToArray(), Table = response.Table.ToArray() };
            },
            cancellationToken);
    }

    ValueTask<IReconcileSymbolsCall> ISyncPeer.OpenReconcileSymbolsAsync(CancellationToken cancellationToken)
    {
        if (!_network.ForwardExtensions)
        {
            return ValueTask.FromException<IReconcileSymbolsCall>(Unimplemented("ReconcileSymbols"));
        }

        return cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled<IReconcileSymbolsCall>(cancellationToken)
            : new ValueTask<IReconcileSymbolsCall>(new SymbolsCall(this));
    }

    public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count > SyncProtocol.MaxGossipBatch)
        {
            throw new ArgumentException($"A gossip batch carries at most {SyncProtocol.MaxGossipBatch} assertions; got {records.Count}.", nameof(records));
        }

        if (!_network.ForwardExtensions)
        {
            return ValueTask.FromException<IReadOnlyList<GossipResult>>(Unimplemented("GossipBatch"));
        }

        var messages = new GossipMessage[records.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = ToMessage(records[i]);
        }

        return _network.CallAsync(_from, Name,
 SyncRpc.GossipBatch, (handler, ct) => handler.GossipBatchAsync(messages, ct), cancellationToken);
    }

    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(AssertionHash? startAfter, ulong maxRecords, CancellationToken cancellationToken = default)
    {
        if (!_network.ForwardExtensions)
        {
            throw Unimplemented("StreamAssertions");
        }

        byte[] cursor = startAfter is { } hash ? hash.ToArray() : [];
        return _network.StreamAsync(_from, Name, (handler, ct) => handler.StreamAssertionsAsync(cursor, maxRecords, ct), cancellationToken);
    }

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        if (hashes.Count > SyncProtocol.MaxFetchHashes)
        {
            throw new ArgumentException($"A fetch carries at most {SyncProtocol.MaxFetchHashes} hashes; got {hashes.Count}.", nameof(hashes));
        }

        var raw = new ReadOnlyMemory<byte>[hashes.Count];
        for (int i = 0; i < raw.Length; i++)
        {
            raw[i] = hashes[i].ToArray();
        }

        return _network.CallAsync(
            _from,
            Name,
            SyncRpc.FetchAssertions,
            async (handler, ct) =>
            {
                IReadOnlyList<AssertionRecord> records = await handler.FetchAsync(raw, ct).ConfigureAwait(false);
                var copies = new AssertionRecord[records.Count];
                for (int i = 0; i < copies.Length; i++)
                {
                    // A v1 AssertionData carries hash and data only; the HLC fields are an extension.
                    HlcTimestamp timestamp = _network.ForwardExtensions ? records[i].Timestamp : HlcTimestamp.None;
                    copies[i] = new AssertionRecord(records[i].Hash, records[i].Data.ToArray(), timestamp);
                }

                return (IReadOnlyList<AssertionRecord>)copies;
            },
            cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default)
    {
        byte[] id = self.ToArray();
        return _network.CallAsync(_from, Name,
 SyncRpc.Ping, (handler, ct) => handler.PingAsync(id, ct), cancellationToken);
    }

    ValueTask<BroadcastResponse> ISyncPeer.BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_network.ForwardExtensions)
        {
            return ValueTask.FromException<BroadcastResponse>(Unimplemented("Broadcast"));
        }

        var messages = new GossipMessage[request.Assertions.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            GossipMessage m = request.Assertions[i];
            messages[i] = new GossipMessage(m.Hash.ToArray(), m.Data.ToArray(), m.HlcTime, m.HlcCounter, m.HlcNodeId.ToArray());
        }

        var copy = new BroadcastRequest(request.SenderNodeId.ToArray(), messages, CopyAll(request.Announced), request.Eager);
        return _network.CallAsync(
            _from,
            Name,
            SyncRpc.Broadcast,
            async (handler, ct) =>
            {
                BroadcastResponse answer = await handler.BroadcastAsync(copy, ct).ConfigureAwait(false);
                return answer with { NodeId = answer.NodeId.ToArray(), Results = [.. answer.Results], Want = CopyAll(answer.Want) };
            },
            cancellationToken);
    }

    private static ReadOnlyMemory<byte>[] CopyAll(IReadOnlyList<ReadOnlyMemory<byte>> items)
    {
        var copies = new ReadOnlyMemory<byte>[items.Count];
        for (int i = 0; i < copies.Length; i++)
        {
            copies[i] = items[i].ToArray();
        }

        return copies;
    }

    public override string ToString() => $"{_from} -> {Name}";

    /// <summary>The push as it would travel: copies of every byte field.</summary>
    private static GossipMessage ToMessage(AssertionRecord record) => new(
        record.Hash.ToArray(),
        record.Data.ToArray(),
        record.Timestamp.Time,
        record.Timestamp.Counter,
        record.Timestamp.NodeId.ToArray());

    private SyncPeerException Unimplemented(string rpc) =>
        new(SyncStatusCode.Unimplemented, $"'{Name}' is a v1 peer on this network: {rpc} is not implemented.");

    /// <summary>A <c>ReconcileSymbols</c> stream: each exchange is one delivery through the network (lost, duplicated or delayed like a call).</summary>
    private sealed class SymbolsCall : IReconcileSymbolsCall
    {
        private readonly InMemoryPeer _peer;
        private bool _disposed;

        public SymbolsCall(InMemoryPeer peer) => _peer = peer;

        public ValueTask<ReconcileSymbolsResponse> ExchangeAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _peer._network.CallAsync(
                _peer._from,
                _peer.Name,
                SyncRpc.ReconcileSymbols,
                async (handler, ct) =>
                {
                    ReconcileSymbolsResponse response = await handler.ReconcileSymbolsAsync(request, ct).ConfigureAwait(false);
                    return response with { Symbols = response.Symbols.ToArray() };
                },
                cancellationToken);
        }

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return default;
        }
    }
}

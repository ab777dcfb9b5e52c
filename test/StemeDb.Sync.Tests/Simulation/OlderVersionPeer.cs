using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Simulation;

/// <summary>The wire versions a simulated node may speak, oldest first.</summary>
internal enum WireVersion
{
    /// <summary>The v1 contract only: no cursor, no Reconcile, no ReconcileSymbols, no GossipBatch, fetch answers without HLC.</summary>
    V1,

    /// <summary>The extensions before ReconcileSymbols: cursor paging, Reconcile and GossipBatch.</summary>
    BeforeSymbols,

    /// <summary>Every extension.</summary>
    Current,
}

/// <summary>
/// A peer as its callers see a node of an older <see cref="WireVersion"/>: the extensions that version lacks answer
/// <see cref="SyncStatusCode.Unimplemented"/> (a cursor is ignored), as the real node would; the rest is forwarded.
/// </summary>
internal sealed class OlderVersionPeer : ISyncPeer
{
    private readonly ISyncPeer _inner;
    private readonly WireVersion _version;

    public OlderVersionPeer(ISyncPeer inner, WireVersion version)
    {
        _inner = inner;
        _version = version;
    }

    public string Name => _inner.Name;

    public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default) =>
        _inner.GossipAsync(record, cancellationToken);

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
        _inner.ExchangeRootsAsync(local, cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        _inner.GetLeavesAsync(maxLeaves, cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default) =>
        _version == WireVersion.V1 ? _inner.GetLeavesAsync(maxLeaves, cancellationToken) : _inner.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

    public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<AssertionRecord> records = await _inner.FetchAsync(hashes, cancellationToken);
        if (_version != WireVersion.V1)
        {
            return records;
        }

        var bare = new AssertionRecord[records.Count];
        for (int i = 0; i < bare.Length; i++)
        {
            bare[i] = new AssertionRecord(records[i].Hash, records[i].Data, HlcTimestamp.None); // v1 sends hash and data only
        }

        return bare;
    }

    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
        _inner.PingAsync(self, cancellationToken);

    ValueTask<ReconcileRoundResponse> ISyncPeer.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken) =>
        _version == WireVersion.V1 ? throw Unimplemented("Reconcile") : _inner.ReconcileAsync(request, cancellationToken);

    public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default) =>
        _version == WireVersion.V1 ? throw Unimplemented("GossipBatch") : _inner.GossipBatchAsync(records, cancellationToken);

    ValueTask<IReconcileSymbolsCall> ISyncPeer.OpenReconcileSymbolsAsync(CancellationToken cancellationToken) =>
        _version == WireVersion.Current ? _inner.OpenReconcileSymbolsAsync(cancellationToken) : throw Unimplemented("ReconcileSymbols");

    public override string ToString() => Name;

    private SyncPeerException Unimplemented(string rpc) => new(SyncStatusCode.Unimplemented, $"{Name} ({_version}) does not implement {rpc}.");
}

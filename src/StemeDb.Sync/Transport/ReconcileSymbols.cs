using System;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync;

/// <summary>
/// One request of the <c>ReconcileSymbols</c> extension (docs/PROTOCOL.md): the coded symbols
/// [<see cref="Start"/>, <see cref="Start"/> + <see cref="Count"/>) of the responder's set, as of the snapshot it
/// named in its first answer.
/// </summary>
/// <param name="Version">The algorithm version (1).</param>
/// <param name="Start">The first symbol index; 0 in the first request, which takes a fresh snapshot.</param>
/// <param name="Count">How many symbols (1 to 65,536).</param>
/// <param name="Snapshot">The snapshot the first answer named; ignored in the first request.</param>
internal readonly record struct ReconcileSymbolsRequest(uint Version, ulong Start, uint Count, ulong Snapshot);

/// <summary>One answer of the <c>ReconcileSymbols</c> extension (docs/PROTOCOL.md).</summary>
/// <param name="AssertionCount">The number of leaves in the snapshot's set.</param>
/// <param name="Snapshot">Names the set the symbols describe; later requests send it back.</param>
/// <param name="Symbols">The requested symbols, encoded back to back (unverified until decoded).</param>
/// <param name="SnapshotGone">The snapshot can no longer be read (too many leaves arrived since); no symbols.</param>
internal readonly record struct ReconcileSymbolsResponse(ulong AssertionCount, ulong Snapshot, ReadOnlyMemory<byte> Symbols, bool SnapshotGone);

/// <summary>
/// One open <c>ReconcileSymbols</c> stream to a peer (<see cref="ISyncPeer.OpenReconcileSymbolsAsync"/>): the caller
/// sends one request at a time and reads its answer before sending the next. Disposing it ends the stream.
/// </summary>
/// <remarks>
/// Implementations map transport failures to <see cref="SyncPeerException"/> as <see cref="ISyncPeer"/> does; a peer
/// without the extension fails the first exchange with <see cref="SyncStatusCode.Unimplemented"/>.
/// </remarks>
internal interface IReconcileSymbolsCall : IAsyncDisposable
{
    /// <summary>Sends one request and returns the peer's answer to it.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels this exchange (and with it the stream).</param>
    /// <returns>The peer's answer (unverified).</returns>
    ValueTask<ReconcileSymbolsResponse> ExchangeAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default);
}

/// <summary>The limits of the <c>ReconcileSymbols</c> extension.</summary>
internal static class ReconcileSymbolsLimits
{
    /// <summary>The most symbols one message carries: at most 41 bytes each, under 3 MB.</summary>
    public const uint MaxSymbolsPerMessage = 65_536;

    /// <summary>The most symbols one reconciliation reads: enough for about 600,000 differences.</summary>
    public const int MaxSymbols = 1 << 20;

    /// <summary>
    /// The most messages one reconciliation exchanges: an honest exchange takes 7 to 15 (docs/PROTOCOL.md); a peer whose
    /// symbols never decode costs at most this many round trips, each of at most <see cref="MaxSymbolsPerMessage"/> symbols.
    /// </summary>
    public const int MaxExchanges = 64;
}

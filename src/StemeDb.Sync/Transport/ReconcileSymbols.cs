using System;

namespace StemeDb.Sync;

/// <summary>
/// One request of the <c>ReconcileSymbols</c> extension (docs/PROTOCOL.md): the coded symbols
/// [<see cref="Start"/>, <see cref="Start"/> + <see cref="Count"/>) of the responder's set, as of the snapshot it
/// named in its first answer.
/// </summary>
/// <param name="Version">The algorithm version (1).</param>
/// <param name="Start">The first symbol index; 0 in the first request, which takes a fresh snapshot.</param>
/// <param name="Count">How many symbols (1 to <see cref="ReconcileSymbolsLimits.MaxSymbolsPerMessage"/>).</param>
/// <param name="Snapshot">The snapshot the first answer named; ignored in the first request.</param>
internal readonly record struct ReconcileSymbolsRequest(uint Version, ulong Start, uint Count, ulong Snapshot);

/// <summary>One answer of the <c>ReconcileSymbols</c> extension (docs/PROTOCOL.md).</summary>
/// <param name="AssertionCount">The number of leaves in the snapshot's set.</param>
/// <param name="Snapshot">Names the set the symbols describe; later requests send it back.</param>
/// <param name="Symbols">The requested symbols, encoded back to back.</param>
/// <param name="SnapshotGone">The snapshot can no longer be read (too many leaves arrived since); no symbols.</param>
internal readonly record struct ReconcileSymbolsResponse(ulong AssertionCount, ulong Snapshot, ReadOnlyMemory<byte> Symbols, bool SnapshotGone);

/// <summary>The limits of the <c>ReconcileSymbols</c> extension.</summary>
internal static class ReconcileSymbolsLimits
{
    /// <summary>The most symbols one message carries: at most 41 bytes each, under 3 MB.</summary>
    public const uint MaxSymbolsPerMessage = 65_536;

    /// <summary>The most symbols one reconciliation reads: enough for about 600,000 differences.</summary>
    public const int MaxSymbols = 1 << 20;
}

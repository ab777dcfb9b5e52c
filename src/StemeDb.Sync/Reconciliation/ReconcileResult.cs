using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>How a reconciliation with a peer ended.</summary>
internal enum ReconcileStatus
{
    /// <summary>The two sets are equal.</summary>
    Identical,

    /// <summary>The differences were found: <see cref="ReconcileResult.MissingLocally"/> and <see cref="ReconcileResult.MissingRemotely"/> are complete.</summary>
    Reconciled,

    /// <summary>The peer estimated more differences than one table may carry; compare paged leaves instead.</summary>
    TooManyDifferences,

    /// <summary>The tables did not decode within the round limit; compare paged leaves instead.</summary>
    DecodeFailed,
}

/// <summary>The outcome of <see cref="SetReconciler.ReconcileCoreAsync"/> or <see cref="SymbolReconciler.ReconcileCoreAsync"/>.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="MissingLocally">Hashes the peer holds and the local index lacks, ascending (empty unless reconciled).</param>
/// <param name="MissingRemotely">Hashes the local index holds and the peer lacks, ascending (empty unless reconciled).</param>
/// <param name="RoundTrips">Reconcile calls made (at most 4).</param>
/// <param name="EstimatedDifferences">The peer's estimate of the number of differences (0 when identical).</param>
/// <param name="PayloadBytes">Bytes of the messages' fields (fingerprints, bitmaps, tables and scalars), both directions; framing excluded.</param>
/// <param name="LargestMessage">Bytes of the largest message's fields, either direction.</param>
internal sealed record ReconcileResult(
    ReconcileStatus Status,
    IReadOnlyList<AssertionHash> MissingLocally,
    IReadOnlyList<AssertionHash> MissingRemotely,
    int RoundTrips,
    ulong EstimatedDifferences,
    long PayloadBytes,
    long LargestMessage = 0);

using System;

namespace StemeDb.Sync;

/// <summary>
/// One round of the <c>Reconcile</c> extension as sent by the initiator: raw fields, exactly as on the wire
/// (specified in docs/PROTOCOL.md, "Beyond v1 extensions"). The responder checks every length and limit.
/// </summary>
/// <param name="Version">The algorithm version; 1 is the only one defined.</param>
/// <param name="AssertionCount">The number of assertions the initiator holds.</param>
/// <param name="SliceFingerprints">Round 1: the initiator's slice fingerprints (3,072 bytes); empty in a retry round.</param>
/// <param name="Slices">Retry round: the bitmap of covered top-level slices (16 bytes); empty in round 1.</param>
/// <param name="Cells">Retry round: the number of table cells wanted (a positive multiple of 3); 0 in round 1.</param>
/// <param name="Salt">The salt of the table's hash functions (chosen by the initiator, every round).</param>
internal readonly record struct ReconcileRoundRequest(
    uint Version,
    ulong AssertionCount,
    ReadOnlyMemory<byte> SliceFingerprints,
    ReadOnlyMemory<byte> Slices,
    uint Cells,
    ulong Salt);

/// <summary>The responder's answer to one <see cref="ReconcileRoundRequest"/>: raw fields, exactly as on the wire.</summary>
/// <param name="Identical">Every slice fingerprint matched: the sets are equal and no table follows.</param>
/// <param name="AssertionCount">The number of assertions the responder holds.</param>
/// <param name="Slices">The bitmap of the top-level slices the table covers (16 bytes).</param>
/// <param name="EstimatedDifferences">The responder's estimate of the number of differences.</param>
/// <param name="Salt">The salt the table was built with.</param>
/// <param name="Table">The responder's invertible Bloom lookup table over its leaves in the covered slices (44 bytes per cell).</param>
/// <param name="TooManyDifferences">The estimate exceeds what one table may carry; the initiator should compare paged leaves instead.</param>
internal readonly record struct ReconcileRoundResponse(
    bool Identical,
    ulong AssertionCount,
    ReadOnlyMemory<byte> Slices,
    ulong EstimatedDifferences,
    ulong Salt,
    ReadOnlyMemory<byte> Table,
    bool TooManyDifferences);

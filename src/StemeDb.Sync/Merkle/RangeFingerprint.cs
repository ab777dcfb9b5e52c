using System;

namespace StemeDb.Sync;

/// <summary>
/// A summary of the leaves in a contiguous range of the hash order: their number and a fingerprint
/// of the set, for range-based set reconciliation (see docs/PROTOCOL.md, "Merkle index and root").
/// </summary>
/// <remarks>
/// The fingerprint is BLAKE3(0x03 || count as u64 big-endian || sum), where sum is the sum modulo
/// 2^256 of the leaves read as 256-bit big-endian unsigned integers. Two ranges holding the same set
/// have equal fingerprints whatever the insertion history; equal fingerprints mean equal sets only
/// up to the collision resistance of the sum, which an adversary choosing many leaves can weaken.
/// The <see langword="default"/> value (count 0, all-zero fingerprint) is not the fingerprint of the
/// empty range; <see cref="MerkleIndex.GetRangeFingerprint"/> returns the real one.
/// </remarks>
internal readonly struct RangeFingerprint : IEquatable<RangeFingerprint>
{
    /// <summary>Creates a fingerprint from its parts, e.g. as received from a peer.</summary>
    /// <param name="count">The number of leaves in the range.</param>
    /// <param name="fingerprint">The 32-byte fingerprint.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public RangeFingerprint(int count, AssertionHash fingerprint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        Fingerprint = fingerprint;
    }

    /// <summary>The number of leaves in the range.</summary>
    public int Count { get; }

    /// <summary>The 32-byte fingerprint of the leaves in the range.</summary>
    public AssertionHash Fingerprint { get; }

    /// <inheritdoc />
    public bool Equals(RangeFingerprint other) => Count == other.Count && Fingerprint == other.Fingerprint;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RangeFingerprint other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Count, Fingerprint);

    /// <summary>Returns the count and the fingerprint in hex.</summary>
    /// <returns>For example <c>3:1f0c…</c>.</returns>
    public override string ToString() => $"{Count}:{Fingerprint}";

    /// <summary>Equal count and fingerprint.</summary>
    public static bool operator ==(RangeFingerprint left, RangeFingerprint right) => left.Equals(right);

    /// <summary>Different count or fingerprint.</summary>
    public static bool operator !=(RangeFingerprint left, RangeFingerprint right) => !left.Equals(right);
}

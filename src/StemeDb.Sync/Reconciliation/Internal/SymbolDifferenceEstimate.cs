using System;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Reconciliation.Internal;

/// <summary>
/// The size of a difference, estimated from the counts of the coded symbols received so far, before any of them is
/// peeled. A leaf held on one side only maps to symbol i (i &gt; 0) with probability p_i = 1 / (1 + i/2), each leaf on
/// its own, so the count of the difference symbol i (ours less theirs) has mean p_i g, where g is the difference of the
/// two set sizes, and variance d p_i (1 - p_i), where d is the size of the difference. The estimate is the sum of the
/// squared deviations over the sum of p_i (1 - p_i). It only sizes the next request: decoding, never this, decides what
/// the difference is.
/// </summary>
internal sealed class SymbolDifferenceEstimate
{
    private readonly long _countGap;
    private double _squares;
    private double _variance;

    /// <summary>Starts an estimate for sets whose sizes differ by <paramref name="countGap"/> (ours less theirs).</summary>
    public SymbolDifferenceEstimate(long countGap) => _countGap = countGap;

    /// <summary>The estimated size of the difference; 0 until a symbol past index 0 is in.</summary>
    public double Differences => _variance == 0 ? 0 : _squares / _variance;

    /// <summary>Adds the received symbols from index <paramref name="start"/> on, with ours at the same indices.</summary>
    public void Add(long start, ReadOnlySpan<CodedSymbol> theirs, ReadOnlySpan<CodedSymbol> ours)
    {
        for (int k = 0; k < theirs.Length; k++)
        {
            long index = start + k;
            if (index == 0)
            {
                continue; // every leaf maps to symbol 0: its count is the gap itself and says nothing of d
            }

            double p = 1.0 / (1.0 + (index / 2.0));
            double deviation = ((long)ours[k].Count - theirs[k].Count) - (_countGap * p);
            _squares += deviation * deviation;
            _variance += p * (1.0 - p);
        }
    }
}

using System;

namespace StemeDb.Sync.Reconciliation.Internal;

/// <summary>
/// Estimates the number of differences d from the numbers of mismatching slices per level and sizes the table.
/// A slice of width w (fraction of the hash space) mismatches with probability 1 - exp(-d w) when differences
/// are uniformly spread; d is the maximum-likelihood value over all levels.
/// </summary>
internal static class DifferenceEstimator
{
    /// <summary>The most cells one table may have: 90,000 x 44 bytes keeps every message under 4 MB.</summary>
    public const int MaxCells = 90_000;

    /// <summary>Returns the estimate, or +infinity when every slice of every level mismatches.</summary>
    public static double Estimate(ReadOnlySpan<int> mismatches)
    {
        const int s = SliceLayout.SlicesPerLevel;
        bool saturated = true;
        for (int level = 0; level < mismatches.Length; level++)
        {
            saturated &= mismatches[level] == s;
        }

        if (mismatches[0] == 0)
        {
            return 0;
        }

        if (saturated)
        {
            return double.PositiveInfinity;
        }

        // The log-likelihood's derivative is decreasing in d: bisect on log d.
        double lo = Math.Log(1e-3), hi = Math.Log(1e12);
        for (int i = 0; i < 100; i++)
        {
            double mid = (lo + hi) / 2;
            if (Slope(Math.Exp(mid), mismatches) > 0)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return Math.Max(Math.Exp((lo + hi) / 2), mismatches[0]);
    }

    /// <summary>
    /// The table size for an estimate: 3 * ceil((1.5 * d_hi + 12) / 3) cells, where d_hi = d (1 + 2 / sqrt(mu)) and
    /// mu is the expected number of differences behind the most informative level (the coarsest one whose slices
    /// hold at most 2 differences on average). Returns a value above <see cref="MaxCells"/> when too large.
    /// </summary>
    public static long CellsFor(double estimate)
    {
        if (double.IsInfinity(estimate) || estimate > 1e9)
        {
            return long.MaxValue;
        }

        double mu = 1;
        for (int level = 0; level < SliceLayout.Levels; level++)
        {
            double lambda = estimate * SliceLayout.Width(level);
            if (lambda <= 2)
            {
                mu = lambda * SliceLayout.SlicesPerLevel;
                break;
            }
        }

        double high = estimate * (1 + (2 / Math.Sqrt(Math.Max(mu, 1))));
        return 3 * (long)Math.Ceiling(((1.5 * high) + 12) / 3);
    }

    private static double Slope(double d, ReadOnlySpan<int> mismatches)
    {
        double sum = 0;
        for (int level = 0; level < mismatches.Length; level++)
        {
            double w = SliceLayout.Width(level);
            int z = mismatches[level];
            double expm1 = Math.Exp(d * w) - 1;
            sum += w * ((z / expm1) - (SliceLayout.SlicesPerLevel - z));
        }

        return sum;
    }
}

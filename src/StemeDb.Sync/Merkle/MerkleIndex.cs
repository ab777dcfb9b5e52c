using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Merkle;

/// <summary>
/// The set of assertion hashes a node holds, with a history-independent Merkle root (see docs/PROTOCOL.md).
/// Thread-safe: concurrent inserts and readers.
/// </summary>
/// <remarks>PLACEHOLDER IMPLEMENTATION: correct set semantics, but the root is recomputed per read and the spec is not final.</remarks>
public sealed class MerkleIndex
{
    private readonly SortedSet<AssertionHash> _leaves = new();
    private readonly object _gate = new();

    /// <summary>The number of leaves.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _leaves.Count;
            }
        }
    }

    /// <summary>The Merkle root of the current set.</summary>
    public AssertionHash Root
    {
        get
        {
            lock (_gate)
            {
                Span<byte> buffer = new byte[_leaves.Count * AssertionHash.Length];
                int i = 0;
                foreach (AssertionHash leaf in _leaves)
                {
                    leaf.CopyTo(buffer[(i * AssertionHash.Length)..]);
                    i++;
                }

                return AssertionHash.Compute(buffer);
            }
        }
    }

    /// <summary>Adds a leaf; idempotent.</summary>
    /// <param name="leaf">The hash.</param>
    /// <returns><see langword="true"/> if the leaf was new.</returns>
    public bool Add(AssertionHash leaf)
    {
        lock (_gate)
        {
            return _leaves.Add(leaf);
        }
    }

    /// <summary>Returns whether the leaf is present.</summary>
    /// <param name="leaf">The hash.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool Contains(AssertionHash leaf)
    {
        lock (_gate)
        {
            return _leaves.Contains(leaf);
        }
    }

    /// <summary>Lists up to <paramref name="max"/> leaves in ascending order, strictly after <paramref name="startAfter"/> when given.</summary>
    /// <param name="startAfter">Exclusive lower bound, or <see langword="null"/> to start at the smallest leaf.</param>
    /// <param name="max">Maximum number of leaves to return.</param>
    /// <returns>The leaves, ascending.</returns>
    public IReadOnlyList<AssertionHash> GetLeaves(AssertionHash? startAfter, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var result = new List<AssertionHash>(Math.Min(max, 1024));
        lock (_gate)
        {
            IEnumerable<AssertionHash> view = startAfter is { } s
                ? _leaves.GetViewBetween(s, AssertionHash.MaxValue)
                : _leaves;
            foreach (AssertionHash leaf in view)
            {
                if (result.Count == max)
                {
                    break;
                }

                if (startAfter is { } bound && leaf == bound)
                {
                    continue;
                }

                result.Add(leaf);
            }
        }

        return result;
    }
}

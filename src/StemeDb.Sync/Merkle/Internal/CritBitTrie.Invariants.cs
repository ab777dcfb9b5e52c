using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Merkle.Internal;

/// <content>Self-checks for the tests: every derived value rebuilt from the leaves.</content>
internal sealed partial class CritBitTrie
{
    /// <summary>Rebuilds every derived value from the leaves and compares; throws on any inconsistency. For tests.</summary>
    internal void CheckInvariants()
    {
        if (_count == 0)
        {
            return;
        }

        (int count, Key256 sum, _) = Check(_root, -1);
        if (count != _count || sum != _totalSum)
        {
            throw new InvalidOperationException("Total count or sum is inconsistent.");
        }

        if (_rootHashValid && _rootHash != FullHash(_root))
        {
            throw new InvalidOperationException("The cached root hash is stale.");
        }
    }

    private (int Count, Key256 Sum, Key256 Prefix) Check(int r, int parentCritBit)
    {
        if (r < 0)
        {
            Key256 leaf = _leaves[~r];
            return (1, leaf, leaf);
        }

        InnerNode node = _nodes[r];
        if (node.CritBit <= parentCritBit)
        {
            throw new InvalidOperationException($"Crit bits do not increase downwards at node {r}.");
        }

        (int leftCount, Key256 leftSum, Key256 leftAny) = Check(node.Left, node.CritBit);
        (int rightCount, Key256 rightSum, Key256 rightAny) = Check(node.Right, node.CritBit);
        if (leftAny.Bit(node.CritBit) || !rightAny.Bit(node.CritBit) || Key256.FirstDifferingBit(leftAny, rightAny) != node.CritBit)
        {
            throw new InvalidOperationException($"Node {r} does not split its leaves at bit {node.CritBit}.");
        }

        int count = leftCount + rightCount;
        Key256 sum = leftSum + rightSum;
        if (node.Count != count)
        {
            throw new InvalidOperationException($"Node {r} counts {node.Count} leaves, has {count}.");
        }

        if ((node.Cache >= 0) != (count > UncachedMaxCount))
        {
            throw new InvalidOperationException($"Node {r} with {count} leaves has the wrong cache state.");
        }

        if (node.Cache >= 0)
        {
            NodeCache cache = _caches[node.Cache];
            if (cache.Sum != sum)
            {
                throw new InvalidOperationException($"Node {r} caches a wrong sum.");
            }

            if (!node.Dirty && cache.Hash != FullHash(r))
            {
                throw new InvalidOperationException($"Node {r} is clean but caches a wrong hash.");
            }
        }

        return (count, sum, leftAny);
    }

    /// <summary>The number of nodes on the longest root-to-leaf path (0 when empty). For tests.</summary>
    internal int Height() => _count == 0 ? 0 : HeightOf(_root);

    private int HeightOf(int r) => r < 0 ? 1 : 1 + Math.Max(HeightOf(_nodes[r].Left), HeightOf(_nodes[r].Right));
}

using System;
using System.Collections.Generic;
using System.Linq;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class MerkleIndexPagingTests
{
    private static readonly AssertionHash[] Leaves = MerkleIndexTests.RandomLeaves(700, seed: 21);
    private static readonly AssertionHash[] Sorted = Leaves.OrderBy(l => l).ToArray();

    private static MerkleIndex? _index;

    private static MerkleIndex Index => _index ??= MerkleIndexTests.Build(Leaves);

    private static List<AssertionHash> Expected(AssertionHash? startAfter, int max) =>
        Sorted.Where(l => startAfter is not { } s || l > s).Take(max).ToList();

    private static AssertionHash Offset(AssertionHash hash, int delta)
    {
        byte[] bytes = hash.ToArray();
        int i = 31;
        while (i >= 0)
        {
            int value = bytes[i] + delta;
            bytes[i] = (byte)value;
            if (value is >= 0 and <= 255)
            {
                break;
            }

            delta = value < 0 ? -1 : 1;
            i--;
        }

        return new AssertionHash(bytes);
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(100)]
    [TestCase(1000)]
    public void GetLeaves_PagingFromNull_ReturnsWholeSetAscendingOnce(int pageSize)
    {
        var all = new List<AssertionHash>();
        AssertionHash? cursor = null;
        while (true)
        {
            IReadOnlyList<AssertionHash> page = Index.GetLeaves(cursor, pageSize);
            Assert.That(page, Has.Count.LessThanOrEqualTo(pageSize));
            all.AddRange(page);
            if (page.Count < pageSize)
            {
                break;
            }

            cursor = page[^1];
        }

        Assert.That(all, Is.EqualTo(Sorted));
    }

    [Test]
    public void GetLeaves_CursorOnEveryLeaf_ReturnsStrictlyFollowingLeaves()
    {
        for (int i = 0; i < Sorted.Length; i++)
        {
            Assert.That(Index.GetLeaves(Sorted[i], 5), Is.EqualTo(Sorted.Skip(i + 1).Take(5)), $"cursor on leaf {i}");
        }
    }

    [Test]
    public void GetLeaves_CursorBetweenLeaves_ReturnsLeavesAboveCursor()
    {
        for (int i = 0; i < Sorted.Length; i++)
        {
            // Just above and just below each leaf: neither is a leaf (the set is sparse).
            AssertionHash above = Offset(Sorted[i], 1);
            AssertionHash below = Offset(Sorted[i], -1);

            Assert.That(Index.GetLeaves(above, 3), Is.EqualTo(Expected(above, 3)), $"just above leaf {i}");
            Assert.That(Index.GetLeaves(below, 3), Is.EqualTo(Expected(below, 3)), $"just below leaf {i}");
        }
    }

    [Test]
    public void GetLeaves_RandomCursors_MatchBruteForce()
    {
        foreach (AssertionHash cursor in MerkleIndexTests.RandomLeaves(300, seed: 22))
        {
            Assert.That(Index.GetLeaves(cursor, 4), Is.EqualTo(Expected(cursor, 4)));
        }
    }

    [Test]
    public void GetLeaves_CursorBeforeAll_StartsAtSmallest()
    {
        Assert.That(Index.GetLeaves(AssertionHash.Zero, 3), Is.EqualTo(Sorted.Take(3)));
        Assert.That(Index.GetLeaves(Offset(Sorted[0], -1), 3), Is.EqualTo(Sorted.Take(3)));
    }

    [Test]
    public void GetLeaves_CursorAfterAll_ReturnsEmpty()
    {
        Assert.That(Index.GetLeaves(Sorted[^1], 3), Is.Empty);
        Assert.That(Index.GetLeaves(Offset(Sorted[^1], 1), 3), Is.Empty);
        Assert.That(Index.GetLeaves(AssertionHash.MaxValue, 3), Is.Empty);
    }

    [Test]
    public void GetLeaves_MaxZero_ReturnsEmpty()
    {
        Assert.That(Index.GetLeaves(null, 0), Is.Empty);
        Assert.That(Index.GetLeaves(Sorted[10], 0), Is.Empty);
    }

    [Test]
    public void GetLeaves_MaxLargerThanSet_ReturnsAll()
    {
        Assert.That(Index.GetLeaves(null, int.MaxValue), Is.EqualTo(Sorted));
    }

    [Test]
    public void GetLeaves_ExtremeLeavesPresent_CursorsAtExtremes()
    {
        // Zero and MaxValue as leaves: a cursor on Zero excludes it; MaxValue is always last.
        var index = MerkleIndexTests.Build(new[] { AssertionHash.MaxValue, AssertionHash.Zero, Sorted[5] });

        Assert.That(index.GetLeaves(null, 10), Is.EqualTo(new[] { AssertionHash.Zero, Sorted[5], AssertionHash.MaxValue }));
        Assert.That(index.GetLeaves(AssertionHash.Zero, 10), Is.EqualTo(new[] { Sorted[5], AssertionHash.MaxValue }));
        Assert.That(index.GetLeaves(AssertionHash.MaxValue, 10), Is.Empty);
    }

    [Test]
    public void GetLeaves_SingleLeaf_AllCursorKinds()
    {
        AssertionHash leaf = Sorted[300];
        var index = MerkleIndexTests.Build(new[] { leaf });

        Assert.That(index.GetLeaves(null, 2), Is.EqualTo(new[] { leaf }));
        Assert.That(index.GetLeaves(Offset(leaf, -1), 2), Is.EqualTo(new[] { leaf }));
        Assert.That(index.GetLeaves(leaf, 2), Is.Empty);
        Assert.That(index.GetLeaves(Offset(leaf, 1), 2), Is.Empty);
    }
}

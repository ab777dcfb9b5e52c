using System;
using System.Collections.Generic;
using System.Linq;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class RangeFingerprintTests
{
    // docs/PROTOCOL.md vectors over the set Leaf(0..99).
    private const string HundredAllHex = "599948d6e012c400f365a81d652bfa28617043509fa7a31c96a089d13d791937";
    private const string Hundred40ToC0Hex = "13ba528b5f6f56beea1f4607fd1c42030ad49e6cb997f50561d560ebcf4da8e7";
    private const string EmptyRangeHex = "ec7cb0299c7a8892323f12f64c72fcf4fc77a2fba289f523456005689dc37880";

    private static RangeFingerprint BruteForce(IEnumerable<AssertionHash> leaves, AssertionHash lower, AssertionHash? upper)
    {
        (int count, byte[] fingerprint) = ReferenceMerkle.Fingerprint(
            leaves.Where(l => l >= lower && (upper is not { } u || l < u)).Select(l => l.ToArray()));
        return new RangeFingerprint(count, new AssertionHash(fingerprint));
    }

    private static AssertionHash Prefix(byte first)
    {
        byte[] bytes = new byte[32];
        bytes[0] = first;
        return new AssertionHash(bytes);
    }

    [Test]
    public void GetRangeFingerprint_FixedVectors_MatchSpecAndReference()
    {
        AssertionHash[] leaves = Enumerable.Range(0, 100).Select(MerkleIndexTests.Leaf).ToArray();
        MerkleIndex index = MerkleIndexTests.Build(leaves);

        RangeFingerprint all = index.GetRangeFingerprint(AssertionHash.Zero, null);
        RangeFingerprint middle = index.GetRangeFingerprint(Prefix(0x40), Prefix(0xc0));
        RangeFingerprint empty = index.GetRangeFingerprint(leaves[5], leaves[5]);

        Assert.That(all, Is.EqualTo(new RangeFingerprint(100, AssertionHash.Parse(HundredAllHex))));
        Assert.That(middle, Is.EqualTo(new RangeFingerprint(46, AssertionHash.Parse(Hundred40ToC0Hex))));
        Assert.That(empty, Is.EqualTo(new RangeFingerprint(0, AssertionHash.Parse(EmptyRangeHex))));
        Assert.That(BruteForce(leaves, AssertionHash.Zero, null), Is.EqualTo(all));
        Assert.That(BruteForce(leaves, Prefix(0x40), Prefix(0xc0)), Is.EqualTo(middle));
        Assert.That(BruteForce(leaves, leaves[5], leaves[5]), Is.EqualTo(empty));
    }

    [Test]
    public void GetRangeFingerprint_EmptyIndex_IsEmptyFingerprint()
    {
        var index = new MerkleIndex();

        Assert.That(index.GetRangeFingerprint(AssertionHash.Zero, null), Is.EqualTo(new RangeFingerprint(0, AssertionHash.Parse(EmptyRangeHex))));
        Assert.That(index.GetRangeFingerprint(AssertionHash.Zero, AssertionHash.MaxValue).Count, Is.Zero);
    }

    [TestCase(1, 31)]
    [TestCase(6, 32)]
    [TestCase(50, 33)]
    [TestCase(1500, 34)]
    public void GetRangeFingerprint_RandomRanges_MatchBruteForce(int count, int seed)
    {
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(count, seed);
        AssertionHash[] sorted = leaves.OrderBy(l => l).ToArray();
        MerkleIndex index = MerkleIndexTests.Build(leaves);
        var random = new Random(seed);
        AssertionHash[] others = MerkleIndexTests.RandomLeaves(60, seed + 1000);

        for (int round = 0; round < 60; round++)
        {
            // Bounds on leaves, between leaves, at the extremes, and open-ended.
            AssertionHash a = round % 3 == 0 ? others[round] : sorted[random.Next(sorted.Length)];
            AssertionHash b = round % 4 == 0 ? others[(round + 7) % others.Length] : sorted[random.Next(sorted.Length)];
            (AssertionHash lower, AssertionHash upper) = a <= b ? (a, b) : (b, a);
            AssertionHash? upperOrOpen = round % 5 == 0 ? null : upper;
            if (round % 7 == 0)
            {
                lower = AssertionHash.Zero;
            }

            RangeFingerprint actual = index.GetRangeFingerprint(lower, upperOrOpen);

            Assert.That(actual, Is.EqualTo(BruteForce(leaves, lower, upperOrOpen)), $"[{lower}, {upperOrOpen})");
        }
    }

    [Test]
    public void GetRangeFingerprint_AdjacentRanges_CountsAddUp()
    {
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(400, seed: 35);
        MerkleIndex index = MerkleIndexTests.Build(leaves);
        AssertionHash split = leaves[17];

        int low = index.GetRangeFingerprint(AssertionHash.Zero, split).Count;
        int high = index.GetRangeFingerprint(split, null).Count;

        Assert.That(low + high, Is.EqualTo(400));
        Assert.That(low, Is.EqualTo(leaves.Count(l => l < split)));
    }

    [Test]
    public void GetRangeFingerprint_SameSetDifferentOrder_SameFingerprint()
    {
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(300, seed: 36);
        MerkleIndex forward = MerkleIndexTests.Build(leaves);
        MerkleIndex backward = MerkleIndexTests.Build(leaves.Reverse());
        AssertionHash lower = leaves[3] < leaves[4] ? leaves[3] : leaves[4];
        AssertionHash upper = leaves[3] < leaves[4] ? leaves[4] : leaves[3];

        Assert.That(forward.GetRangeFingerprint(lower, upper), Is.EqualTo(backward.GetRangeFingerprint(lower, upper)));
    }

    [Test]
    public void GetRangeFingerprint_OneLeafDiffers_FingerprintDiffers()
    {
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(200, seed: 37);
        MerkleIndex full = MerkleIndexTests.Build(leaves);
        MerkleIndex missing = MerkleIndexTests.Build(leaves.Skip(1));

        RangeFingerprint a = full.GetRangeFingerprint(AssertionHash.Zero, null);
        RangeFingerprint b = missing.GetRangeFingerprint(AssertionHash.Zero, null);

        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(a.Fingerprint, Is.Not.EqualTo(b.Fingerprint));
    }

    [Test]
    public void GetRangeFingerprint_UpperBelowLower_ThrowsArgumentException()
    {
        MerkleIndex index = MerkleIndexTests.Build(MerkleIndexTests.RandomLeaves(10, seed: 38));

        var ex = Assert.Throws<ArgumentException>(() => index.GetRangeFingerprint(AssertionHash.MaxValue, AssertionHash.Zero));
        Assert.That(ex!.ParamName, Is.EqualTo("upperExclusive"));
    }

    [Test]
    public void Constructor_NegativeCount_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RangeFingerprint(-1, AssertionHash.Zero));
    }

    [Test]
    public void Equality_CountAndFingerprint_BothCompared()
    {
        var a = new RangeFingerprint(2, AssertionHash.MaxValue);

        Assert.That(a == new RangeFingerprint(2, AssertionHash.MaxValue), Is.True);
        Assert.That(a != new RangeFingerprint(3, AssertionHash.MaxValue), Is.True);
        Assert.That(a.Equals(new RangeFingerprint(2, AssertionHash.Zero)), Is.False);
        Assert.That(a.ToString(), Does.StartWith("2:ffff"));
    }

    [Test]
    public void GetRangeFingerprint_ClusteredLeavesAndNearbyBounds_MatchBruteForce()
    {
        // Even numbers in the last two bytes: deep tries, and odd bounds that fall between leaves.
        AssertionHash Value(int v)
        {
            byte[] bytes = new byte[32];
            bytes[0] = 0x5a;
            bytes[30] = (byte)(v >> 8);
            bytes[31] = (byte)v;
            return new AssertionHash(bytes);
        }

        AssertionHash[] leaves = Enumerable.Range(0, 300).Select(i => Value(2 * i)).ToArray();
        MerkleIndex index = MerkleIndexTests.Build(leaves.Reverse());

        for (int lo = -1; lo < 602; lo += 7)
        {
            for (int width = 0; width < 40; width += 3)
            {
                AssertionHash lower = lo < 0 ? AssertionHash.Zero : Value(lo);
                AssertionHash upper = Value(Math.Max(lo, 0) + width);

                Assert.That(index.GetRangeFingerprint(lower, upper), Is.EqualTo(BruteForce(leaves, lower, upper)), $"[{lo}, +{width})");
            }

            AssertionHash from = lo < 0 ? AssertionHash.Zero : Value(lo);
            Assert.That(index.GetRangeFingerprint(from, null), Is.EqualTo(BruteForce(leaves, from, null)), $"[{lo}, end)");
            Assert.That(index.GetLeaves(from, 3), Is.EqualTo(leaves.Where(l => l > from).Take(3)), $"leaves after {lo}");
        }
    }
}

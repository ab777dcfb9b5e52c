using System;
using System.Collections.Generic;
using System.Linq;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class BucketedTrieTests
{
    [Test]
    public void Add_RandomLeavesThroughSeveralDeepenings_InvariantsHoldThroughout()
    {
        // Arrange: enough leaves to deepen eight times, with root reads in between (so that cached
        // hashes survive some deepenings and are missing after others).
        var trie = new BucketedTrie();
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(4000, seed: 71);

        for (int i = 0; i < leaves.Length; i++)
        {
            // Act
            Assert.That(trie.Add(Key256.FromHash(leaves[i])), Is.True);

            // Assert
            if (i % 333 == 0 || i < 40)
            {
                trie.CheckInvariants();
                _ = trie.Root;
                trie.CheckInvariants();
            }
        }

        Assert.That(trie.Depth, Is.EqualTo(8), "4,000 leaves at up to 16 per bucket on average need 2^8 buckets");
        _ = trie.Root;
        Assert.DoesNotThrow(trie.CheckInvariants);
        Assert.That(trie.Count, Is.EqualTo(leaves.Length));
        Assert.That(trie.Root, Is.EqualTo(Key256.Read(ReferenceMerkle.Root(leaves.Select(l => l.ToArray())))));
    }

    [Test]
    public void Add_LeavesSharingTheirFirstBytes_BucketBecomesTrieAndSplitsStayConsistent()
    {
        // Arrange: 1,500 leaves with the same first 8 bytes all fall into one bucket, far beyond the sorted
        // array's limit, while the depth keeps growing with the count; 500 random leaves around them.
        var trie = new BucketedTrie();
        List<AssertionHash> all = Crowded(seed: 72, prefix: 0x5a);

        // Act
        foreach (AssertionHash leaf in all)
        {
            trie.Add(Key256.FromHash(leaf));
        }

        // Assert
        Assert.That(trie.LargestBucket(), Is.GreaterThan(BucketedTrie.MaxSortedBucket));
        Assert.DoesNotThrow(trie.CheckInvariants);
        Assert.That(trie.Root, Is.EqualTo(Key256.Read(ReferenceMerkle.Root(all.Select(l => l.ToArray())))));
        Assert.DoesNotThrow(trie.CheckInvariants);
        foreach (AssertionHash leaf in all)
        {
            Assert.That(trie.Add(Key256.FromHash(leaf)), Is.False);
            Assert.That(trie.Contains(Key256.FromHash(leaf)), Is.True);
        }
    }

    [TestCase(0, 1)]
    [TestCase(0, 3000)]
    [TestCase(40, 40)]
    [TestCase(500, 20)]
    [TestCase(1000, 9000)]
    public void AddSorted_RunsWithRepeatsAndPresentKeys_SameAsOneByOne(int before, int batch)
    {
        // Arrange: `before` keys added one by one (and hashed, so that cached hashes exist), then a sorted batch
        // of `batch` keys of which a third repeat each other or keys already present.
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(before + batch, seed: before + batch);
        var oneByOne = new BucketedTrie();
        var sorted = new BucketedTrie();
        foreach (AssertionHash leaf in leaves.Take(before))
        {
            sorted.Add(Key256.FromHash(leaf));
        }

        _ = sorted.Root;
        var random = new Random(74);
        var keys = new List<Key256>();
        for (int i = 0; i < batch; i++)
        {
            keys.Add(Key256.FromHash(leaves[before + i]));
            if (i % 3 == 0)
            {
                keys.Add(Key256.FromHash(leaves[random.Next(before + i + 1)]));
            }
        }

        keys.Sort(static (a, b) => Key256.Compare(a, b));
        foreach (AssertionHash leaf in leaves)
        {
            oneByOne.Add(Key256.FromHash(leaf));
        }

        // Act
        int added = sorted.AddSorted(keys.ToArray());

        // Assert
        Assert.That(added, Is.EqualTo(batch));
        Assert.DoesNotThrow(sorted.CheckInvariants);
        Assert.That(sorted.Count, Is.EqualTo(leaves.Length));
        Assert.That(sorted.Total, Is.EqualTo(oneByOne.Total));
        Assert.That(sorted.Root, Is.EqualTo(oneByOne.Root));
        Assert.DoesNotThrow(sorted.CheckInvariants);
        Assert.That(sorted.AddSorted(keys.ToArray()), Is.Zero, "a second merge of the same keys adds nothing");
    }

    [Test]
    public void AddSorted_LeavesSharingTheirFirstBytes_BucketBecomesTrieAsOneByOne()
    {
        // Arrange: 1,500 of 2,000 leaves share their first 8 bytes, merged in two sorted batches.
        List<AssertionHash> all = Crowded(seed: 75, prefix: 0xa5);

        var trie = new BucketedTrie();

        // Act
        foreach (IEnumerable<AssertionHash> half in new[] { all.Take(700), all.Skip(700) })
        {
            Key256[] keys = half.Select(Key256.FromHash).ToArray();
            Array.Sort(keys, static (a, b) => Key256.Compare(a, b));
            trie.AddSorted(keys);
            Assert.DoesNotThrow(trie.CheckInvariants);
        }

        // Assert
        Assert.That(trie.LargestBucket(), Is.GreaterThan(BucketedTrie.MaxSortedBucket));
        Assert.That(trie.Count, Is.EqualTo(all.Count));
        Assert.That(trie.Root, Is.EqualTo(Key256.Read(ReferenceMerkle.Root(all.Select(l => l.ToArray())))));
        Assert.DoesNotThrow(trie.CheckInvariants);
    }

    [Test]
    public void GetLeavesAndSumBelow_AcrossSortedAndTrieBuckets_MatchBruteForce()
    {
        // Arrange: a cluster large enough to be a trie bucket, plus random leaves in sorted buckets.
        var trie = new BucketedTrie();
        var random = new Random(73);
        var all = new List<AssertionHash>();
        for (int i = 0; i < 1200; i++)
        {
            byte[] bytes = new byte[32];
            random.NextBytes(bytes);
            if (i < 400)
            {
                bytes[0] = 0x80;
                bytes[1] = 0x01;
                bytes[2] = 0x02;
            }

            all.Add(new AssertionHash(bytes));
            trie.Add(Key256.FromHash(all[^1]));
        }

        AssertionHash[] sorted = all.Order().ToArray();
        Assert.That(trie.LargestBucket(), Is.GreaterThan(BucketedTrie.MaxSortedBucket));

        for (int probe = 0; probe < 300; probe++)
        {
            // A bound that is a leaf, or a random value, or just next to the cluster.
            AssertionHash bound = (probe % 3) switch
            {
                0 => sorted[random.Next(sorted.Length)],
                1 => RandomHash(random),
                _ => sorted[random.Next(400)],
            };

            // Act
            var page = new List<AssertionHash>();
            trie.GetLeaves(Key256.FromHash(bound), 50, page);
            (int count, Key256 sum) = trie.SumBelow(Key256.FromHash(bound));

            // Assert
            AssertionHash[] expectedPage = sorted.Where(h => h > bound).Take(50).ToArray();
            AssertionHash[] below = sorted.Where(h => h < bound).ToArray();
            Key256 expectedSum = default;
            foreach (AssertionHash h in below)
            {
                expectedSum += Key256.FromHash(h);
            }

            Assert.That(page, Is.EqualTo(expectedPage));
            Assert.That(count, Is.EqualTo(below.Length));
            Assert.That(sum, Is.EqualTo(expectedSum));
        }

        var everything = new List<AssertionHash>();
        trie.GetLeaves(null, int.MaxValue, everything);
        Assert.That(everything, Is.EqualTo(sorted));
    }

    [Test]
    public void Root_AfterOneInsert_RehashesTwoBucketsAndOnePath()
    {
        // Arrange: 20k leaves, root read once (a full hash: one inner hash per leaf but one; a leaf is not hashed).
        var trie = new BucketedTrie();
        foreach (AssertionHash leaf in MerkleIndexTests.RandomLeaves(20_000, seed: 74))
        {
            trie.Add(Key256.FromHash(leaf));
        }

        _ = trie.Root;
        long fullBuild = trie.HashesComputed;

        foreach (AssertionHash leaf in MerkleIndexTests.RandomLeaves(50, seed: 75))
        {
            long before = trie.HashesComputed;

            // Act
            trie.Add(Key256.FromHash(leaf));
            _ = trie.Root;

            // Assert: the leaf's bucket and at most its sibling bucket from their leaves (s - 1 inner hashes each),
            // and one inner hash per prefix level.
            long spent = trie.HashesComputed - before;
            int largest = trie.LargestBucket();
            Assert.That(spent, Is.InRange(1, (2 * (largest - 1)) + trie.Depth));
        }

        Assert.That(fullBuild, Is.EqualTo(20_000 - 1));
        Assert.That(trie.LargestBucket(), Is.LessThan(64), "uniform leaves spread evenly over the buckets");
        trie.CheckInvariants();
    }

    [Test]
    public void Root_ReadTwiceWithoutInsert_ComputesNothing()
    {
        var trie = new BucketedTrie();
        foreach (AssertionHash leaf in MerkleIndexTests.RandomLeaves(500, seed: 76))
        {
            trie.Add(Key256.FromHash(leaf));
        }

        Key256 first = trie.Root;
        long after = trie.HashesComputed;

        Assert.That(trie.Root, Is.EqualTo(first));
        Assert.That(trie.HashesComputed, Is.EqualTo(after));
    }

    [Test]
    public void Root_SameSetInsertedInDifferentOrdersWithReadsBetween_SameRoot()
    {
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(1500, seed: 77);
        var incremental = new BucketedTrie();
        foreach (AssertionHash leaf in leaves)
        {
            incremental.Add(Key256.FromHash(leaf));
            _ = incremental.Root;
        }

        var bulk = new BucketedTrie();
        foreach (AssertionHash leaf in leaves.Reverse())
        {
            bulk.Add(Key256.FromHash(leaf));
        }

        Assert.That(incremental.Root, Is.EqualTo(bulk.Root));
        Assert.DoesNotThrow(incremental.CheckInvariants);
    }

    private static AssertionHash RandomHash(Random random)
    {
        byte[] bytes = new byte[32];
        random.NextBytes(bytes);
        return new AssertionHash(bytes);
    }

    /// <summary>2,000 random leaves, three in four of them with the first 8 bytes set to <paramref name="prefix"/>.</summary>
    private static List<AssertionHash> Crowded(int seed, byte prefix)
    {
        var all = new List<AssertionHash>();
        var random = new Random(seed);
        for (int i = 0; i < 2000; i++)
        {
            byte[] bytes = new byte[32];
            random.NextBytes(bytes);
            if (i % 4 != 0)
            {
                Array.Fill(bytes, prefix, 0, 8);
            }

            all.Add(new AssertionHash(bytes));
        }

        return all;
    }
}

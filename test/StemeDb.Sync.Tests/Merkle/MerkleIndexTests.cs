using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class MerkleIndexTests
{
    // Test vectors of docs/PROTOCOL.md ("Merkle index and root", root version 2). Leaf(i) is BLAKE3 of the ASCII decimal
    // digits of i. ReferenceMerkle (the definition as a recursion) computes the same values; its derive-key hasher is
    // checked against the official BLAKE3 vectors (Blake3DeriveKeyVectorTests).
    private const string EmptyRootHex = "55a7d26d94f798c5730050b93d9cd8c3d5f753943f3679c93b1cd996642d5c72";
    private const string OneLeafRootHex = "4d067153ac729a4a7e8220c97935ffba67487860d58298ceeb23864369867d9f";
    private const string TwoLeavesRootHex = "55fd778ed91f951fd21a16414382d40f6eec7317f5ee81f6bd60bee9ee820b4e";
    private const string ThreeLeavesRootHex = "44c6414c5faf0fdbb4f158694238dc71232e3fc7e8f1ef2f766d79e142ea215e";
    private const string EdgeRootHex = "93457c6629336ac481e5c1e825feaede635bdd3cec8fc9dde205e9a45e9610b9";
    private const string HundredRootHex = "2daf61a5fca8ad2dff5c705a219ceb1751e9ea740f67bba9ebbf1aebe935f88c";

    internal static AssertionHash Leaf(int i) =>
        AssertionHash.Compute(Encoding.ASCII.GetBytes(i.ToString(CultureInfo.InvariantCulture)));

    internal static AssertionHash[] RandomLeaves(int count, int seed)
    {
        var random = new Random(seed);
        var leaves = new AssertionHash[count];
        byte[] bytes = new byte[32];
        for (int i = 0; i < count; i++)
        {
            random.NextBytes(bytes);
            leaves[i] = new AssertionHash(bytes);
        }

        return leaves;
    }

    internal static MerkleIndex Build(IEnumerable<AssertionHash> leaves)
    {
        var index = new MerkleIndex();
        foreach (AssertionHash leaf in leaves)
        {
            index.Add(leaf);
        }

        return index;
    }

    private static AssertionHash Edge(byte first, byte last)
    {
        byte[] bytes = new byte[32];
        bytes[0] = first;
        bytes[31] = last;
        return new AssertionHash(bytes);
    }

    private static AssertionHash ReferenceRoot(IEnumerable<AssertionHash> leaves) =>
        new(ReferenceMerkle.Root(leaves.Select(l => l.ToArray())));

    private static IEnumerable<TestCaseData> Vectors()
    {
        yield return new TestCaseData(Array.Empty<AssertionHash>(), EmptyRootHex).SetName("Root_VectorEmptySet_MatchesSpec");
        yield return new TestCaseData(new[] { Leaf(0) }, OneLeafRootHex).SetName("Root_VectorOneLeaf_MatchesSpec");
        yield return new TestCaseData(new[] { Leaf(0), Leaf(1) }, TwoLeavesRootHex).SetName("Root_VectorTwoLeaves_MatchesSpec");
        yield return new TestCaseData(new[] { Leaf(0), Leaf(1), Leaf(2) }, ThreeLeavesRootHex).SetName("Root_VectorThreeLeaves_MatchesSpec");
        yield return new TestCaseData(
            new[] { AssertionHash.Zero, Edge(0x00, 0x01), Edge(0x80, 0x00), AssertionHash.MaxValue },
            EdgeRootHex).SetName("Root_VectorEdgeLeaves_MatchesSpec");
        yield return new TestCaseData(Enumerable.Range(0, 100).Select(Leaf).ToArray(), HundredRootHex).SetName("Root_VectorHundredLeaves_MatchesSpec");
    }

    [TestCaseSource(nameof(Vectors))]
    public void Root_FixedVector_MatchesSpecAndReference(AssertionHash[] leaves, string expectedHex)
    {
        // Act
        MerkleIndex index = Build(leaves);

        // Assert: the published vector, and the independent reference agrees with it.
        Assert.That(index.Root.ToString(), Is.EqualTo(expectedHex));
        Assert.That(ReferenceRoot(leaves).ToString(), Is.EqualTo(expectedHex));
    }

    [Test]
    public void EmptyIndex_RootCountAndLeaves_AreTheEmptySet()
    {
        var index = new MerkleIndex();

        Assert.That(index.Count, Is.Zero);
        Assert.That(index.Root, Is.EqualTo(MerkleIndex.EmptyRoot));
        Assert.That(index.Contains(AssertionHash.Zero), Is.False);
        Assert.That(index.GetLeaves(null, 10), Is.Empty);
        Assert.That(index.GetLeaves(AssertionHash.Zero, 10), Is.Empty);
    }

    [Test]
    public void Root_OneLeaf_IsTheLeafItself()
    {
        AssertionHash leaf = Leaf(7);
        MerkleIndex index = Build(new[] { leaf });

        Assert.That(index.Root, Is.EqualTo(leaf));
    }

    [Test]
    public void Root_TwoLeaves_IsDeriveKeyHashOfLeavesInAscendingOrder()
    {
        AssertionHash a = Leaf(0);
        AssertionHash b = Leaf(1);
        (AssertionHash low, AssertionHash high) = a < b ? (a, b) : (b, a);

        MerkleIndex index = Build(new[] { high, low });

        byte[] material = [.. low.ToArray(), .. high.ToArray()];
        using var hasher = Blake3.Hasher.NewDeriveKey("StemeDb.Sync 2026-12-02 Merkle inner node v2");
        hasher.Update(material);
        byte[] expected = new byte[32];
        hasher.Finalize(expected);
        Assert.That(index.Root, Is.EqualTo(new AssertionHash(expected)));
    }

    [Test]
    public void EmptyRoot_IsNotTheHashOfAnyShortContent()
    {
        // The empty set's root is a derive-key output: not BLAKE3 of the bytes a one-leaf set could hold, so a node
        // holding the single assertion 0x02 (which a permissive validator accepts) does not look empty.
        AssertionHash onlyLeaf = AssertionHash.Compute(new byte[] { 0x02 });

        Assert.That(Build(new[] { onlyLeaf }).Root, Is.Not.EqualTo(MerkleIndex.EmptyRoot));
        Assert.That(MerkleIndex.EmptyRoot, Is.EqualTo(new AssertionHash(ReferenceMerkle.DeriveKey(ReferenceMerkle.EmptyContext, []))));
    }

    [Test]
    public void Add_SameLeafTwice_IsIdempotent()
    {
        var index = new MerkleIndex();
        AssertionHash leaf = Leaf(1);
        index.Add(Leaf(2));

        Assert.That(index.Add(leaf), Is.True);
        AssertionHash rootAfterFirst = index.Root;
        Assert.That(index.Add(leaf), Is.False);
        Assert.That(index.Count, Is.EqualTo(2));
        Assert.That(index.Root, Is.EqualTo(rootAfterFirst));
        Assert.That(index.Contains(leaf), Is.True);
    }

    [Test]
    public void AddDeferredMany_WithDuplicatesAndPresentLeaves_SameAsAddingOneByOne()
    {
        // Arrange: 500 leaves in one index one by one; in the other, 100 first and then all 500 twice over in one batch.
        AssertionHash[] leaves = RandomLeaves(500, seed: 41);
        var oneByOne = new MerkleIndex();
        foreach (AssertionHash leaf in leaves)
        {
            oneByOne.Add(leaf);
        }

        var batched = new MerkleIndex();
        foreach (AssertionHash leaf in leaves.Take(100))
        {
            batched.Add(leaf);
        }

        _ = batched.Root;
        int before = batched.Count;

        // Act
        batched.AddDeferred(leaves.Concat(leaves).ToArray());

        // Assert
        Assert.That(batched.Count - before, Is.EqualTo(400));
        Assert.That(batched.Count, Is.EqualTo(500));
        Assert.That(batched.Root, Is.EqualTo(oneByOne.Root));
        Assert.That(batched.Root, Is.EqualTo(ReferenceRoot(leaves)));
        batched.AddDeferred(ReadOnlySpan<AssertionHash>.Empty);
        Assert.That(batched.Count, Is.EqualTo(500));
    }

    [Test]
    public void Root_ReadBetweenDeferredLeaves_MatchesAReferenceAtEveryRead()
    {
        // Arrange: random leaves, some repeated, and 300 that share their first 16 bytes (their bucket outgrows a sorted
        // array and becomes a trie), added deferred and one by one; a root read every 997 leaves hashes each merged
        // bucket right after its merge.
        var random = new Random(61);
        var leaves = new List<AssertionHash>(RandomLeaves(20_000, seed: 62));
        byte[] prefix = new byte[AssertionHash.Length];
        random.NextBytes(prefix);
        for (int i = 0; i < 300; i++)
        {
            byte[] bytes = (byte[])prefix.Clone();
            random.NextBytes(bytes.AsSpan(16));
            leaves.Insert(random.Next(leaves.Count), new AssertionHash(bytes));
        }

        var index = new MerkleIndex();
        var held = new List<AssertionHash>();
        int reads = 0;

        // Act and assert
        for (int i = 0; i < leaves.Count; i++)
        {
            if (i % 5 == 0)
            {
                index.Add(leaves[i]);
            }
            else
            {
                index.AddDeferred(leaves[i]);
            }

            if (i % 11 == 0)
            {
                index.AddDeferred(leaves[i / 2]); // already held: changes nothing
            }

            held.Add(leaves[i]);
            if ((i + 1) % 997 == 0)
            {
                Assert.That(index.Root, Is.EqualTo(ReferenceRoot(held)), $"after {i + 1} leaves");
                reads++;
            }
        }

        Assert.That(reads, Is.EqualTo(leaves.Count / 997));
        Assert.That(index.Count, Is.EqualTo(leaves.Count));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [Test]
    public void AddDeferred_BulkLoadWithMergesLargerThanTheKeptGroupingBuffer_SameRootAsAReference()
    {
        // Arrange: 80,000 leaves in batches of 1,024 (merges of thousands of leaves, sorted in the bulk load's grouping
        // buffer, which is reused from merge to merge), with a read half-way that lets the buffers go.
        AssertionHash[] leaves = RandomLeaves(80_000, seed: 47);
        var index = new MerkleIndex();

        // Act
        for (int start = 0; start < leaves.Length; start += 1024)
        {
            index.AddDeferred(leaves.AsSpan(start, Math.Min(1024, leaves.Length - start)));
            if (start == 40 * 1024)
            {
                Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves.Take(start + 1024))));
            }
        }

        // Assert
        Assert.That(index.Count, Is.EqualTo(leaves.Length));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
        Assert.That(index.GetLeaves(null, 100), Is.EqualTo(leaves.Order().Take(100).ToList()));
    }

    [Test]
    public void AddDeferred_BulkLoad_AllocatesLittleMoreThanTheIndexKeeps()
    {
        // A bulk load in batches of 1,024 grows its deferred-leaf and grouping buffers by doubling only. Grown to the
        // limit itself (a quarter of the leaves, creeping up with every merge), they were replaced at almost every merge:
        // about 130 bytes allocated per leaf here, where the index keeps under 90.
        AssertionHash[] leaves = RandomLeaves(200_000, seed: 53);
        var index = new MerkleIndex();
        index.AddDeferred(leaves.AsSpan(0, 1024)); // first-use allocations out of the measure

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int start = 1024; start < leaves.Length; start += 1024)
        {
            index.AddDeferred(leaves.AsSpan(start, Math.Min(1024, leaves.Length - start)));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated / (double)leaves.Length, Is.LessThan(120), "bytes allocated per leaf by the bulk load");
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [Test]
    public void AddDeferred_EveryReadSeesTheLeaf()
    {
        // Arrange: 300 leaves added at once, then each read kind made right after one deferred insert.
        AssertionHash[] leaves = RandomLeaves(310, seed: 43);
        var index = new MerkleIndex();
        index.AddDeferred(leaves.AsSpan(0, 300));
        var expected = new List<AssertionHash>(leaves.Take(300));

        // Act and assert: count, root, contains, leaves and range fingerprint each see the leaf added just before.
        index.AddDeferred(leaves[300]);
        expected.Add(leaves[300]);
        Assert.That(index.Count, Is.EqualTo(301));

        index.AddDeferred(leaves[301]);
        expected.Add(leaves[301]);
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(expected)));

        index.AddDeferred(leaves[302]);
        Assert.That(index.Contains(leaves[302]), Is.True);
        expected.Add(leaves[302]);

        index.AddDeferred(leaves[303]);
        expected.Add(leaves[303]);
        Assert.That(index.GetLeaves(null, 1000), Is.EqualTo(expected.Order().ToList()));

        index.AddDeferred(leaves[304]);
        expected.Add(leaves[304]);
        Assert.That(index.GetRangeFingerprint(AssertionHash.Zero, null), Is.EqualTo(Build(expected).GetRangeFingerprint(AssertionHash.Zero, null)));

        index.AddDeferred(leaves[305]);
        expected.Add(leaves[305]);
        Assert.That(index.Add(leaves[305]), Is.False, "the deferred leaf is present when Add asks");
        Assert.That(index.Count, Is.EqualTo(expected.Count));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(expected)));
    }

    [Test]
    public void AddDeferred_RepeatsAndPresentLeaves_CountOnce()
    {
        // Arrange: 100 leaves present and read, then all 2,000 deferred twice over (past the merge threshold).
        AssertionHash[] leaves = RandomLeaves(2000, seed: 44);
        var index = new MerkleIndex();
        foreach (AssertionHash leaf in leaves.Take(100))
        {
            index.Add(leaf);
        }

        _ = index.Root;

        // Act
        foreach (AssertionHash leaf in leaves.Concat(leaves))
        {
            index.AddDeferred(leaf);
        }

        // Assert
        Assert.That(index.Count, Is.EqualTo(2000));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [TestCase(MerkleIndex.MinDeferred - 1)]
    [TestCase(MerkleIndex.MinDeferred)]
    [TestCase(MerkleIndex.MinDeferred + 1)]
    [TestCase(20_000)]
    public void AddDeferred_AnyNumber_SameIndexAsAddingOneByOne(int count)
    {
        // Arrange: the counts straddle the first merge, and 20,000 merges several times with a growing buffer.
        AssertionHash[] leaves = RandomLeaves(count, seed: count);
        MerkleIndex oneByOne = Build(leaves);
        var deferred = new MerkleIndex();

        // Act
        foreach (AssertionHash leaf in leaves)
        {
            deferred.AddDeferred(leaf);
        }

        // Assert
        Assert.That(deferred.Count, Is.EqualTo(count));
        Assert.That(deferred.Root, Is.EqualTo(oneByOne.Root));
        Assert.That(deferred.GetLeaves(null, count), Is.EqualTo(oneByOne.GetLeaves(null, count)));
    }

    [Test]
    public async Task AddDeferred_ConcurrentWritersAndReaders_ExactAtTheEnd()
    {
        // Arrange: 4 writers defer 5,000 leaves each while a reader keeps reading roots and counts.
        AssertionHash[] leaves = RandomLeaves(20_000, seed: 45);
        var index = new MerkleIndex();
        using var done = new CancellationTokenSource();
        Task reader = Task.Run(() =>
        {
            int lastCount = 0;
            while (!done.IsCancellationRequested)
            {
                _ = index.Root;
                int count = index.Count;
                Assert.That(count, Is.GreaterThanOrEqualTo(lastCount), "the count never goes back");
                lastCount = count;
            }
        });

        // Act
        Task[] writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (int i = w; i < leaves.Length; i += 4)
            {
                index.AddDeferred(leaves[i]);
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));
        done.Cancel();
        await reader.WaitAsync(TimeSpan.FromSeconds(30));

        // Assert
        Assert.That(index.Count, Is.EqualTo(leaves.Length));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [Test]
    public void Add_EachInsert_ChangesRootAndKeepsReferenceAgreement()
    {
        var index = new MerkleIndex();
        var added = new List<AssertionHash>();
        var roots = new HashSet<AssertionHash> { index.Root };
        foreach (AssertionHash leaf in RandomLeaves(40, seed: 3))
        {
            index.Add(leaf);
            added.Add(leaf);

            Assert.That(index.Root, Is.EqualTo(ReferenceRoot(added)), $"after {added.Count} leaves");
            Assert.That(roots.Add(index.Root), Is.True, "every distinct set has a distinct root");
        }
    }

    [TestCase(1, 1)]
    [TestCase(5, 2)]
    [TestCase(17, 3)]
    [TestCase(300, 4)]
    [TestCase(2000, 5)]
    public void Root_RandomSet_AgreesWithReference(int count, int seed)
    {
        AssertionHash[] leaves = RandomLeaves(count, seed);

        MerkleIndex index = Build(leaves);

        Assert.That(index.Count, Is.EqualTo(count));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [TestCase(40_000, 21)]
    public void Root_FreshIndexLargerThanOneGatherChunk_AgreesWithReference(int count, int seed)
    {
        // Beyond 2^10 buckets a root read gathers subtree by subtree and computes the batch when it fills.
        AssertionHash[] leaves = RandomLeaves(count, seed);
        var index = new MerkleIndex();
        index.AddDeferred(leaves);

        Assert.That(index.Count, Is.EqualTo(count));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [TestCase(3, 31)]
    [TestCase(100, 32)]
    [TestCase(5_000, 33)]
    [TestCase(25_000, 34)]
    public void Root_IncrementalInsertsWithReadsAtRandomPoints_AgreesWithReferenceAtEveryRead(int count, int seed)
    {
        // Arrange: leaves in a random order, some one by one and some deferred in runs, roots read at random points.
        AssertionHash[] leaves = RandomLeaves(count, seed);
        var random = new Random(seed);
        var index = new MerkleIndex();
        var added = new List<AssertionHash>();
        int reads = 0;
        for (int i = 0; i < leaves.Length;)
        {
            int run = Math.Min(leaves.Length - i, 1 + random.Next(Math.Max(1, count / 8)));
            if (random.Next(2) == 0)
            {
                for (int k = 0; k < run; k++)
                {
                    index.Add(leaves[i + k]);
                }
            }
            else
            {
                index.AddDeferred(leaves.AsSpan(i, run));
            }

            added.AddRange(leaves.AsSpan(i, run).ToArray());
            i += run;

            // Act and assert: a root read now and then (and always at the end) equals the independent recursion.
            if (random.Next(3) == 0 || i == leaves.Length)
            {
                reads++;
                Assert.That(index.Root, Is.EqualTo(ReferenceRoot(added)), $"after {added.Count} leaves");
            }
        }

        Assert.That(reads, Is.GreaterThan(0));
        Assert.That(index.Count, Is.EqualTo(count));
    }

    [Test]
    public void Root_BucketGrownIntoCritBitTrieThenMoreInserts_AgreesWithReference()
    {
        // Arrange: 600 leaves sharing their first 8 bytes gather in one bucket, which becomes a crit-bit trie, among
        // 3,000 uniform leaves; the root is read between inserts.
        var random = new Random(41);
        var leaves = new List<AssertionHash>(RandomLeaves(3_000, seed: 42));
        for (int i = 0; i < 600; i++)
        {
            byte[] bytes = new byte[32];
            random.NextBytes(bytes.AsSpan(8));
            bytes[0] = 0x5a;
            leaves.Add(new AssertionHash(bytes));
        }

        var index = new MerkleIndex();
        var added = new List<AssertionHash>();
        foreach (AssertionHash leaf in leaves.OrderBy(_ => random.Next()))
        {
            index.Add(leaf);
            added.Add(leaf);
            if (added.Count % 700 == 0)
            {
                Assert.That(index.Root, Is.EqualTo(ReferenceRoot(added)), $"after {added.Count} leaves");
            }
        }

        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(added)));
    }

    [Test]
    public void Root_ClusteredLeavesWithLongSharedPrefixes_AgreesWithReference()
    {
        // Leaves that differ only in their last bytes build deep tries, unlike uniform hashes.
        var random = new Random(11);
        var leaves = new List<AssertionHash>();
        for (int i = 0; i < 200; i++)
        {
            byte[] bytes = new byte[32];
            bytes[0] = (byte)(i % 3);
            bytes[31] = (byte)random.Next(256);
            bytes[30] = (byte)random.Next(4);
            bytes[20] = (byte)(i % 2);
            leaves.Add(new AssertionHash(bytes));
        }

        MerkleIndex index = Build(leaves);

        Assert.That(index.Count, Is.EqualTo(leaves.Distinct().Count()));
        Assert.That(index.Root, Is.EqualTo(ReferenceRoot(leaves)));
    }

    [Test]
    public void Root_RandomPermutations_SameRoot()
    {
        AssertionHash[] leaves = RandomLeaves(500, seed: 8);
        AssertionHash expected = Build(leaves).Root;
        var random = new Random(9);

        for (int round = 0; round < 10; round++)
        {
            AssertionHash[] shuffled = leaves.OrderBy(_ => random.Next()).ToArray();
            var index = new MerkleIndex();
            for (int i = 0; i < shuffled.Length; i++)
            {
                index.Add(shuffled[i]);
                if (i % 97 == 0)
                {
                    _ = index.Root; // interleaved reads must not change the outcome
                }
            }

            Assert.That(index.Root, Is.EqualTo(expected), $"permutation {round}");
        }
    }

    [Test]
    public void Root_DifferentSets_DifferentRoots()
    {
        AssertionHash[] leaves = RandomLeaves(100, seed: 12);

        AssertionHash full = Build(leaves).Root;
        AssertionHash missingOne = Build(leaves.Skip(1)).Root;

        Assert.That(missingOne, Is.Not.EqualTo(full));
    }

    [Test]
    public void Contains_PresentAndAbsentLeaves_Reported()
    {
        AssertionHash[] leaves = RandomLeaves(300, seed: 13);
        MerkleIndex index = Build(leaves.Take(200));

        Assert.That(leaves.Take(200).All(index.Contains), Is.True);
        Assert.That(leaves.Skip(200).Any(index.Contains), Is.False);
    }

    [Test]
    public void GetLeaves_NegativeMax_ThrowsAndChangesNothing()
    {
        MerkleIndex index = Build(RandomLeaves(10, seed: 14));
        AssertionHash root = index.Root;

        Assert.Throws<ArgumentOutOfRangeException>(() => index.GetLeaves(null, -1));
        Assert.That(index.Root, Is.EqualTo(root));
        Assert.That(index.Count, Is.EqualTo(10));
    }
}

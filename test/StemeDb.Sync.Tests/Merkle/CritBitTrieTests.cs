using System;
using System.Linq;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class CritBitTrieTests
{
    [Test]
    public void Add_RandomLeaves_InvariantsHoldThroughout()
    {
        var trie = new CritBitTrie();
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(3000, seed: 61);

        for (int i = 0; i < leaves.Length; i++)
        {
            Assert.That(trie.Add(Key256.FromHash(leaves[i])), Is.True);
            if (i % 250 == 0 || i < 20)
            {
                trie.CheckInvariants();
                _ = trie.Root; // clean the dirty paths, then check the cached hashes too
                trie.CheckInvariants();
            }
        }

        _ = trie.Root;
        Assert.DoesNotThrow(trie.CheckInvariants);
        Assert.That(trie.Count, Is.EqualTo(leaves.Length));
    }

    [Test]
    public void Add_DenseClusteredLeaves_InvariantsHold()
    {
        // Consecutive integers in the last bytes: the deepest crit bits (up to 255) and many small subtrees.
        var trie = new CritBitTrie();
        for (int i = 0; i < 1000; i++)
        {
            byte[] bytes = new byte[32];
            bytes[30] = (byte)(i >> 8);
            bytes[31] = (byte)i;
            trie.Add(Key256.Read(bytes));
        }

        _ = trie.Root;
        Assert.DoesNotThrow(trie.CheckInvariants);
        Assert.That(trie.Count, Is.EqualTo(1000));
    }

    [Test]
    public void Root_AfterManyInsertsAndReads_EqualsRootOfFreshTrie()
    {
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(1000, seed: 62);
        var incremental = new CritBitTrie();
        foreach (AssertionHash leaf in leaves)
        {
            incremental.Add(Key256.FromHash(leaf));
            _ = incremental.Root;
        }

        var bulk = new CritBitTrie();
        foreach (AssertionHash leaf in leaves.Reverse())
        {
            bulk.Add(Key256.FromHash(leaf));
        }

        Assert.That(incremental.Root, Is.EqualTo(bulk.Root));
    }

    [Test]
    public void Root_AfterOneInsert_RehashesOnlyAlongOnePath()
    {
        // Arrange: 20k leaves, root read once (a full hash: one inner hash per leaf but one; a leaf is not hashed).
        var trie = new CritBitTrie();
        foreach (AssertionHash leaf in MerkleIndexTests.RandomLeaves(20_000, seed: 63))
        {
            trie.Add(Key256.FromHash(leaf));
        }

        _ = trie.Root;
        long fullBuild = trie.HashesComputed;
        int height = trie.Height();

        foreach (AssertionHash leaf in MerkleIndexTests.RandomLeaves(50, seed: 64))
        {
            long before = trie.HashesComputed;

            // Act
            trie.Add(Key256.FromHash(leaf));
            _ = trie.Root;

            // Assert: at most one inner hash per level plus a small subtree (at most 3 inner hashes) beside it.
            long spent = trie.HashesComputed - before;
            Assert.That(spent, Is.InRange(1, 4 * height));
        }

        Assert.That(fullBuild, Is.EqualTo(20_000 - 1));
        Assert.That(height, Is.LessThan(64), "uniform leaves give a trie of logarithmic height");
        trie.CheckInvariants();
    }

    [Test]
    public void Root_ReadTwiceWithoutInsert_ComputesNothing()
    {
        var trie = new CritBitTrie();
        foreach (AssertionHash leaf in MerkleIndexTests.RandomLeaves(500, seed: 65))
        {
            trie.Add(Key256.FromHash(leaf));
        }

        Key256 first = trie.Root;
        long after = trie.HashesComputed;

        Assert.That(trie.Root, Is.EqualTo(first));
        Assert.That(trie.HashesComputed, Is.EqualTo(after));
    }
}

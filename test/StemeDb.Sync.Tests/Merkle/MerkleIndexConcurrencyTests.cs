using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class MerkleIndexConcurrencyTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Add_ParallelWritersWithReaders_SameRootAsSequential(CancellationToken cancellationToken)
    {
        // Arrange: 4 writers over overlapping slices (every leaf is added twice), 2 readers throughout.
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(20_000, seed: 41);
        AssertionHash expectedRoot = MerkleIndexTests.Build(leaves).Root;
        var index = new MerkleIndex();
        int newCount = 0;
        using var writersDone = new CancellationTokenSource();
        int slice = leaves.Length / 2;

        // Act
        Task[] writers = Enumerable.Range(0, 4).Select(w => Task.Run(
            () =>
            {
                int start = (w % 2) * slice;
                for (int i = 0; i < slice; i++)
                {
                    int k = w < 2 ? start + i : start + slice - 1 - i; // two directions per slice
                    if (index.Add(leaves[k]))
                    {
                        Interlocked.Increment(ref newCount);
                    }
                }
            },
            cancellationToken)).ToArray();
        var observedCounts = new List<int>();
        Task[] readers = Enumerable.Range(0, 2).Select(r => Task.Run(
            () =>
            {
                int previous = 0;
                while (!writersDone.IsCancellationRequested)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int count = index.Count;
                    Assert.That(count, Is.GreaterThanOrEqualTo(previous));
                    previous = count;
                    _ = index.Root;
                    IReadOnlyList<AssertionHash> page = index.GetLeaves(null, 50);
                    Assert.That(page, Is.Ordered);
                    Assert.That(index.GetRangeFingerprint(AssertionHash.Zero, null).Count, Is.GreaterThanOrEqualTo(count));
                }

                lock (observedCounts)
                {
                    observedCounts.Add(previous);
                }
            },
            cancellationToken)).ToArray();
        await Task.WhenAll(writers);
        await writersDone.CancelAsync();
        await Task.WhenAll(readers);

        // Assert
        Assert.That(newCount, Is.EqualTo(leaves.Length), "each leaf reported new exactly once");
        Assert.That(index.Count, Is.EqualTo(leaves.Length));
        Assert.That(index.Root, Is.EqualTo(expectedRoot));
        Assert.That(index.GetLeaves(null, int.MaxValue), Is.EqualTo(leaves.OrderBy(l => l)));
        Assert.That(observedCounts, Has.Count.EqualTo(2));
    }
}

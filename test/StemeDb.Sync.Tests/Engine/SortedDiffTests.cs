using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Engine.Internal;

namespace StemeDb.Sync.Tests.Engine;

[TestFixture]
public sealed class SortedDiffTests
{
    private static List<AssertionHash> Hashes(IEnumerable<int> seeds) =>
        seeds.Select(s => AssertionHash.Compute(BitConverter.GetBytes(s))).ToList();

    private static MerkleIndex Index(IEnumerable<AssertionHash> hashes)
    {
        var index = new MerkleIndex();
        foreach (AssertionHash hash in hashes)
        {
            index.Add(hash);
        }

        return index;
    }

    /// <summary>A remote that pages with a cursor (what a beyond-v1 peer offers), counting its calls.</summary>
    private sealed class PagedRemote
    {
        private readonly List<AssertionHash> _sorted;
        private readonly int _pageSize;

        public PagedRemote(IEnumerable<AssertionHash> hashes, int pageSize)
        {
            _sorted = hashes.OrderBy(h => h).ToList();
            _pageSize = pageSize;
        }

        public int Calls { get; private set; }

        public ValueTask<LeavesPage?> GetPageAsync(AssertionHash? startAfter, CancellationToken cancellationToken)
        {
            Calls++;
            int start = startAfter is { } s ? _sorted.FindIndex(h => h > s) : 0;
            if (start < 0)
            {
                start = _sorted.Count;
            }

            var page = _sorted.Skip(start).Take(_pageSize).ToList();
            return new ValueTask<LeavesPage?>(new LeavesPage(page, start + page.Count < _sorted.Count));
        }
    }

    [TestCase(1, 1)]
    [TestCase(7, 10)]
    [TestCase(100, 3)]
    [TestCase(4096, 10_000)]
    public async Task ComputeAsync_OverlappingSetsLargerThanOnePage_FindsExactlyWhatEachSideLacks(int localPage, int remotePage)
    {
        List<AssertionHash> local = Hashes(Enumerable.Range(0, 600));
        List<AssertionHash> remote = Hashes(Enumerable.Range(400, 700));
        var pager = new PagedRemote(remote, remotePage);

        DiffResult diff = await SortedDiff.ComputeAsync(Index(local), pager.GetPageAsync, localPage);

        Assert.That(diff.MissingLocally, Is.EqualTo(remote.Except(local).OrderBy(h => h)));
        Assert.That(diff.MissingRemotely, Is.EqualTo(local.Except(remote).OrderBy(h => h)));
        Assert.That(diff.Complete, Is.True);
        Assert.That(diff.RemoteLeavesSeen, Is.EqualTo(700));
        Assert.That(diff.RoundTrips, Is.EqualTo(pager.Calls));
        Assert.That(pager.Calls, Is.EqualTo((700 + remotePage - 1) / remotePage));
    }

    [Test]
    public async Task ComputeAsync_IdenticalSets_NothingMissing()
    {
        List<AssertionHash> both = Hashes(Enumerable.Range(0, 300));

        DiffResult diff = await SortedDiff.ComputeAsync(Index(both), new PagedRemote(both, 64).GetPageAsync, 50);

        Assert.That(diff.MissingLocally, Is.Empty);
        Assert.That(diff.MissingRemotely, Is.Empty);
        Assert.That(diff.Complete, Is.True);
    }

    [Test]
    public async Task ComputeAsync_LocalEmpty_EverythingMissingLocally()
    {
        List<AssertionHash> remote = Hashes(Enumerable.Range(0, 25));

        DiffResult diff = await SortedDiff.ComputeAsync(new MerkleIndex(), new PagedRemote(remote, 10).GetPageAsync, 4);

        Assert.That(diff.MissingLocally, Is.EqualTo(remote.OrderBy(h => h)));
        Assert.That(diff.MissingRemotely, Is.Empty);
    }

    [Test]
    public async Task ComputeAsync_RemoteEmpty_EverythingMissingRemotely()
    {
        List<AssertionHash> local = Hashes(Enumerable.Range(0, 25));

        DiffResult diff = await SortedDiff.ComputeAsync(Index(local), new PagedRemote(Array.Empty<AssertionHash>(), 10).GetPageAsync, 4);

        Assert.That(diff.MissingLocally, Is.Empty);
        Assert.That(diff.MissingRemotely, Is.EqualTo(local.OrderBy(h => h)));
        Assert.That(diff.Complete, Is.True);
    }

    [Test]
    public async Task ComputeAsync_V1RemoteTruncated_ClassifiesOnlyUpToLastRemoteLeaf()
    {
        List<AssertionHash> local = Hashes(Enumerable.Range(0, 200));
        List<AssertionHash> remoteAll = Hashes(Enumerable.Range(100, 300)).OrderBy(h => h).ToList();
        List<AssertionHash> firstPage = remoteAll.Take(120).ToList();
        AssertionHash last = firstPage[^1];
        int calls = 0;
        ValueTask<LeavesPage?> V1(AssertionHash? startAfter, CancellationToken ct)
        {
            calls++;
            return new ValueTask<LeavesPage?>(startAfter is null ? new LeavesPage(firstPage, true) : null);
        }

        DiffResult diff = await SortedDiff.ComputeAsync(Index(local), V1, 16);

        Assert.That(diff.Complete, Is.False);
        Assert.That(diff.CoveredUpTo, Is.EqualTo(last));
        Assert.That(diff.MissingLocally, Is.EqualTo(firstPage.Except(local)));
        Assert.That(diff.MissingRemotely, Is.EqualTo(local.Where(h => h <= last).Except(remoteAll).OrderBy(h => h)));
        Assert.That(calls, Is.EqualTo(2));
    }

    [Test]
    public void ComputeAsync_RemoteLeavesNotAscending_ThrowsInvalidResponse()
    {
        List<AssertionHash> remote = Hashes(Enumerable.Range(0, 10)).OrderByDescending(h => h).ToList();
        ValueTask<LeavesPage?> Pager(AssertionHash? startAfter, CancellationToken ct) =>
            new(new LeavesPage(remote, false));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SortedDiff.ComputeAsync(new MerkleIndex(), Pager));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
        Assert.That(ex.Message, Does.Contain("ascending"));
    }

    [Test]
    public void ComputeAsync_RemotePageRepeatsLeafAcrossPages_ThrowsInvalidResponse()
    {
        List<AssertionHash> sorted = Hashes(Enumerable.Range(0, 10)).OrderBy(h => h).ToList();
        ValueTask<LeavesPage?> Pager(AssertionHash? startAfter, CancellationToken ct) =>
            new(new LeavesPage(sorted.Take(5).ToList(), true)); // Always the first page: the cursor is ignored.

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SortedDiff.ComputeAsync(new MerkleIndex(), Pager));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public void ComputeAsync_EmptyTruncatedPage_ThrowsInvalidResponse()
    {
        ValueTask<LeavesPage?> Pager(AssertionHash? startAfter, CancellationToken ct) =>
            new(new LeavesPage(Array.Empty<AssertionHash>(), true));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SortedDiff.ComputeAsync(new MerkleIndex(), Pager));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [TestCase(0, 1000, new int[0])]
    [TestCase(1, 1000, new[] { 1 })]
    [TestCase(1000, 1000, new[] { 1000 })]
    [TestCase(2500, 1000, new[] { 1000, 1000, 500 })]
    [TestCase(7, 3, new[] { 3, 3, 1 })]
    public void PlanFetches_Hashes_SplitsIntoOrderedBatchesOfAtMostBatchSize(int count, int batchSize, int[] expectedSizes)
    {
        List<AssertionHash> missing = Hashes(Enumerable.Range(0, count));

        IReadOnlyList<AssertionHash[]> batches = SortedDiff.PlanFetches(missing, batchSize);

        Assert.That(batches.Select(b => b.Length), Is.EqualTo(expectedSizes));
        Assert.That(batches.SelectMany(b => b), Is.EqualTo(missing));
    }

    [Test]
    public void PlanFetches_BatchSizeZero_Throws()
    {
        Assert.That(() => SortedDiff.PlanFetches(Hashes(Enumerable.Range(0, 3)), 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}

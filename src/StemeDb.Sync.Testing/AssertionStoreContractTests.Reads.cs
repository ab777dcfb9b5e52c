using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace StemeDb.Sync.Testing;

// The store contract: batch reads, with and without a byte budget.
public abstract partial class AssertionStoreContractTests
{
    /// <summary>A batch get skips missing hashes and keeps the request order.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task GetManyAsync_WithMissingHashes_ReturnsFoundInRequestOrder()
    {
        IAssertionStore store = NewStore();
        AssertionRecord[] present = Enumerable.Range(0, 5).Select(i => Record(i)).ToArray();
        foreach (AssertionRecord record in present)
        {
            await store.PutAsync(record).ConfigureAwait(false);
        }

        AssertionHash[] request =
        {
            present[3].Hash, Record(100).Hash, present[0].Hash, Record(101).Hash, present[4].Hash,
        };

        IReadOnlyList<AssertionRecord> found = await store.GetManyAsync(request).ConfigureAwait(false);

        Assert.That(found.Select(r => r.Hash), Is.EqualTo(new[] { present[3].Hash, present[0].Hash, present[4].Hash }));
        Assert.That(found.Select(r => r.Data.ToArray()), Is.EqualTo(new[] { present[3].Data.ToArray(), present[0].Data.ToArray(), present[4].Data.ToArray() }));
    }

    /// <summary>A batch get of nothing returns nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task GetManyAsync_EmptyRequest_ReturnsEmpty()
    {
        IAssertionStore store = NewStore();
        await store.PutAsync(Record(1)).ConfigureAwait(false);

        IReadOnlyList<AssertionRecord> found = await store.GetManyAsync(Array.Empty<AssertionHash>()).ConfigureAwait(false);

        Assert.That(found, Is.Empty);
    }

    /// <summary>A batch get of 1,000 hashes (the protocol's fetch limit), half missing, returns the present half.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(30_000)]
    public async Task GetManyAsync_ThousandHashesHalfMissing_ReturnsPresentHalf()
    {
        IAssertionStore store = NewStore();
        var request = new List<AssertionHash>();
        var expected = new List<AssertionHash>();
        for (int i = 0; i < 1000; i++)
        {
            AssertionRecord record = Record(i);
            request.Add(record.Hash);
            if (i % 2 == 0)
            {
                await store.PutAsync(record).ConfigureAwait(false);
                expected.Add(record.Hash);
            }
        }

        IReadOnlyList<AssertionRecord> found = await store.GetManyAsync(request).ConfigureAwait(false);

        Assert.That(found.Select(r => r.Hash), Is.EqualTo(expected));
    }

    /// <summary>
    /// A budgeted batch get returns the records in request order, skipping missing ones, and stops before the record
    /// that would go over the budget: a prefix of the unbudgeted answer.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task GetManyWithinAsync_BudgetReached_ReturnsThePrefixWithinIt()
    {
        IAssertionStore store = NewStore();
        var random = new Random(7);
        AssertionRecord[] records = Enumerable.Range(0, 6).Select(i => SizedRecord(random, 1000, i)).ToArray(); // 1,004 bytes each
        foreach (AssertionRecord record in records)
        {
            await store.PutAsync(record).ConfigureAwait(false);
        }

        AssertionHash[] request = [records[4].Hash, Record(100).Hash, records[1].Hash, records[0].Hash, records[5].Hash];

        IReadOnlyList<AssertionRecord> two = await store.GetManyWithinAsync(request, 2 * 1004 + 1003).ConfigureAwait(false);
        IReadOnlyList<AssertionRecord> all = await store.GetManyWithinAsync(request, long.MaxValue).ConfigureAwait(false);
        IReadOnlyList<AssertionRecord> exact = await store.GetManyWithinAsync(request, 3 * 1004).ConfigureAwait(false);

        Assert.Multiple(() =>
        {
            Assert.That(two.Select(r => r.Hash), Is.EqualTo(new[] { records[4].Hash, records[1].Hash }));
            Assert.That(all.Select(r => r.Hash), Is.EqualTo(new[] { records[4].Hash, records[1].Hash, records[0].Hash, records[5].Hash }));
            Assert.That(exact.Select(r => r.Hash), Is.EqualTo(new[] { records[4].Hash, records[1].Hash, records[0].Hash }));
            Assert.That(exact.Select(r => r.Data.ToArray()), Is.EqualTo(new[] { records[4].Data.ToArray(), records[1].Data.ToArray(), records[0].Data.ToArray() }));
        });
    }

    /// <summary>The first record found is returned even when it alone is larger than the budget, so that every record can be served.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task GetManyWithinAsync_FirstRecordLargerThanTheBudget_ReturnsItAlone()
    {
        IAssertionStore store = NewStore();
        var random = new Random(8);
        AssertionRecord big = SizedRecord(random, 5000, 1);
        AssertionRecord small = SizedRecord(random, 10, 2);
        await store.PutAsync(big).ConfigureAwait(false);
        await store.PutAsync(small).ConfigureAwait(false);

        IReadOnlyList<AssertionRecord> found = await store.GetManyWithinAsync([Record(100).Hash, big.Hash, small.Hash], 100).ConfigureAwait(false);
        IReadOnlyList<AssertionRecord> none = await store.GetManyWithinAsync([Record(100).Hash], 0).ConfigureAwait(false);

        Assert.That(found.Select(r => r.Hash), Is.EqualTo(new[] { big.Hash }));
        Assert.That(none, Is.Empty);
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.GetManyWithinAsync([big.Hash], -1).ConfigureAwait(false));
    }
}

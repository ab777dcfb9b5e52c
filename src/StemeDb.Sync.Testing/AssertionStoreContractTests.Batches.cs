using System;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;

namespace StemeDb.Sync.Testing;

/// <summary>The contract of <see cref="IAssertionStore.PutManyAsync"/>: the batch put of bulk loads.</summary>
public abstract partial class AssertionStoreContractTests
{
    /// <summary>New, already held and repeated records in one call: each flagged, each hash stored once, the first copy kept.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task PutManyAsync_NewHeldAndRepeated_FlagsEachAndStoresEveryHashOnce()
    {
        IAssertionStore store = NewStore();
        AssertionRecord held = Record(1, time: 100);
        await store.PutAsync(held).ConfigureAwait(false);
        AssertionRecord fresh = Record(2, time: 200);
        AssertionRecord other = Record(3, time: 300);
        var heldAgain = new AssertionRecord(held.Hash, held.Data.ToArray(), Timestamp(999));
        var freshAgain = new AssertionRecord(fresh.Hash, fresh.Data.ToArray(), Timestamp(888));
        AssertionRecord[] batch = [fresh, heldAgain, other, freshAgain];
        bool[] added = new bool[batch.Length];

        await store.PutManyAsync(batch, added).ConfigureAwait(false);

        Assert.That(added, Is.EqualTo(new[] { true, false, true, false }));
        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.EqualTo(3));
        Assert.That((await store.GetAsync(held.Hash).ConfigureAwait(false))!.Timestamp, Is.EqualTo(held.Timestamp), "the record held before is kept");
        Assert.That((await store.GetAsync(fresh.Hash).ConfigureAwait(false))!.Timestamp, Is.EqualTo(fresh.Timestamp), "the first copy in the call is kept");
        Assert.That((await store.GetAsync(other.Hash).ConfigureAwait(false))!.Data.ToArray(), Is.EqualTo(other.Data.ToArray()));
    }

    /// <summary>The records' bytes are lent for the call only: changing them afterwards does not change what was stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task PutManyAsync_BytesReusedAfterTheCall_StoredCopiesUnchanged()
    {
        IAssertionStore store = NewStore();
        AssertionRecord[] originals = Enumerable.Range(10, 50).Select(i => Record(i)).ToArray();
        byte[] buffer = new byte[originals.Sum(r => r.Data.Length)];
        var lent = new AssertionRecord[originals.Length];
        int offset = 0;
        for (int i = 0; i < originals.Length; i++)
        {
            originals[i].Data.Span.CopyTo(buffer.AsSpan(offset));
            lent[i] = new AssertionRecord(originals[i].Hash, buffer.AsMemory(offset, originals[i].Data.Length), originals[i].Timestamp);
            offset += originals[i].Data.Length;
        }

        bool[] added = new bool[lent.Length];
        await store.PutManyAsync(lent, added).ConfigureAwait(false);
        Array.Fill(buffer, (byte)0xEE);

        Assert.That(added, Has.All.True);
        foreach (AssertionRecord original in originals)
        {
            AssertionRecord? stored = await store.GetAsync(original.Hash).ConfigureAwait(false);
            Assert.That(stored?.Data.ToArray(), Is.EqualTo(original.Data.ToArray()));
        }
    }

    /// <summary>An empty call stores nothing; fewer flags than records is refused before anything is stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task PutManyAsync_EmptyOrTooFewFlags_NothingStored()
    {
        IAssertionStore store = NewStore();

        await store.PutManyAsync(ReadOnlyMemory<AssertionRecord>.Empty, Memory<bool>.Empty).ConfigureAwait(false);
        Assert.ThrowsAsync<ArgumentException>(async () => await store.PutManyAsync(new[] { Record(1), Record(2) }, new bool[1]).ConfigureAwait(false));

        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.Zero);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using StemeDb.Sync.Testing.Internal;

namespace StemeDb.Sync.Testing;

/// <summary>
/// The behaviour every <see cref="IAssertionStore"/> must have. Derive a <c>[TestFixture]</c> from it and
/// implement <see cref="CreateStore"/> to run the whole suite against your store:
/// <code>
/// [TestFixture]
/// public sealed class MyStoreContractTests : AssertionStoreContractTests
/// {
///     protected override IAssertionStore CreateStore() => new MyStore(...);
/// }
/// </code>
/// </summary>
/// <remarks>Each test creates a fresh, empty store; override <see cref="DisposeStoreAsync"/> to clean up after it.</remarks>
public abstract partial class AssertionStoreContractTests
{
    private readonly List<IAssertionStore> _stores = new();

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store under test.</returns>
    protected abstract IAssertionStore CreateStore();

    /// <summary>Releases a store created by <see cref="CreateStore"/>; disposes it when it is disposable.</summary>
    /// <param name="store">The store.</param>
    /// <returns>A task that completes when the store is released.</returns>
    protected virtual ValueTask DisposeStoreAsync(IAssertionStore store) => Disposal.DisposeAsync(store);

    /// <summary>Releases the stores of the test.</summary>
    /// <returns>A task that completes when every store is released.</returns>
    [TearDown]
    public async Task ReleaseStoresAsync()
    {
        foreach (IAssertionStore store in _stores)
        {
            await DisposeStoreAsync(store).ConfigureAwait(false);
        }

        _stores.Clear();
    }

    /// <summary>A new record is added.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task PutAsync_NewRecord_ReturnsTrueAndStores()
    {
        IAssertionStore store = NewStore();
        AssertionRecord record = Record(1);

        bool added = await store.PutAsync(record).ConfigureAwait(false);

        Assert.That(added, Is.True);
        Assert.That(await store.ContainsAsync(record.Hash).ConfigureAwait(false), Is.True);
        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.EqualTo(1));
    }

    /// <summary>A second put of the same hash reports "already present" and keeps the first record.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task PutAsync_SameHashTwice_SecondReturnsFalseAndKeepsFirst()
    {
        IAssertionStore store = NewStore();
        AssertionRecord first = Record(7, time: 100);
        var second = new AssertionRecord(first.Hash, first.Data.ToArray(), Timestamp(200));

        bool addedFirst = await store.PutAsync(first).ConfigureAwait(false);
        bool addedSecond = await store.PutAsync(second).ConfigureAwait(false);
        AssertionRecord? stored = await store.GetAsync(first.Hash).ConfigureAwait(false);

        Assert.That(addedFirst, Is.True);
        Assert.That(addedSecond, Is.False);
        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.EqualTo(1));
        Assert.That(stored, Is.Not.Null);
        Assert.That(stored!.Timestamp, Is.EqualTo(first.Timestamp));
    }

    /// <summary>A put with a null record is refused.</summary>
    [Test]
    public void PutAsync_NullRecord_ThrowsArgumentNullException()
    {
        IAssertionStore store = NewStore();

        Assert.ThrowsAsync<ArgumentNullException>(async () => await store.PutAsync(null!).ConfigureAwait(false));
    }

    /// <summary>Get returns exactly the stored hash, bytes and timestamp.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task GetAsync_Present_ReturnsSameHashBytesAndTimestamp()
    {
        IAssertionStore store = NewStore();
        AssertionRecord record = Record(42, time: 1_700_000_000_123, counter: 9);
        await store.PutAsync(record).ConfigureAwait(false);

        AssertionRecord? stored = await store.GetAsync(record.Hash).ConfigureAwait(false);

        Assert.That(stored, Is.Not.Null);
        Assert.That(stored!.Hash, Is.EqualTo(record.Hash));
        Assert.That(stored.Data.ToArray(), Is.EqualTo(record.Data.ToArray()));
        Assert.That(stored.Timestamp, Is.EqualTo(record.Timestamp));
    }

    /// <summary>Records of very different sizes, from empty to 100 KB, come back byte for byte.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(30_000)]
    public async Task GetAsync_RecordsOfManySizes_ReturnExactBytes()
    {
        IAssertionStore store = NewStore();
        var random = new Random(11);
        var sizes = new List<int> { 0, 1, 255, 4096, 5000, 16_384, 16_385, 100_000 };
        for (int i = 0; i < 300; i++)
        {
            sizes.Add(random.Next(0, 20_000));
        }

        var records = new List<AssertionRecord>();
        for (int i = 0; i < sizes.Count; i++)
        {
            AssertionRecord record = SizedRecord(random, sizes[i], i);
            records.Add(record);
            await store.PutAsync(record).ConfigureAwait(false);
        }

        foreach (AssertionRecord record in records)
        {
            AssertionRecord? stored = await store.GetAsync(record.Hash).ConfigureAwait(false);
            Assert.That(stored, Is.Not.Null);
            Assert.That(stored!.Data.Span.SequenceEqual(record.Data.Span), Is.True, $"bytes of the {record.Data.Length}-byte record");
            Assert.That(stored.Timestamp, Is.EqualTo(record.Timestamp));
        }
    }

    /// <summary>Get of an unknown hash returns null.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task GetAsync_Missing_ReturnsNull()
    {
        IAssertionStore store = NewStore();
        await store.PutAsync(Record(1)).ConfigureAwait(false);

        AssertionRecord? stored = await store.GetAsync(Record(2).Hash).ConfigureAwait(false);

        Assert.That(stored, Is.Null);
    }

    /// <summary>Contains follows puts.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task ContainsAsync_BeforeAndAfterPut_ReflectsStore()
    {
        IAssertionStore store = NewStore();
        AssertionRecord record = Record(5);

        bool before = await store.ContainsAsync(record.Hash).ConfigureAwait(false);
        await store.PutAsync(record).ConfigureAwait(false);
        bool after = await store.ContainsAsync(record.Hash).ConfigureAwait(false);

        Assert.That(before, Is.False);
        Assert.That(after, Is.True);
    }

    /// <summary>Count counts distinct hashes.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task CountAsync_DistinctAndRepeatedPuts_CountsDistinct()
    {
        IAssertionStore store = NewStore();
        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.Zero);
        for (int i = 0; i < 20; i++)
        {
            await store.PutAsync(Record(i % 15)).ConfigureAwait(false);
        }

        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.EqualTo(15));
    }

    /// <summary>Enumeration yields every hash exactly once.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(30_000)]
    public async Task EnumerateHashesAsync_ManyRecords_ReturnsEveryHashOnce()
    {
        IAssertionStore store = NewStore();
        var expected = new HashSet<AssertionHash>();
        for (int i = 0; i < 2500; i++)
        {
            AssertionRecord record = Record(i);
            expected.Add(record.Hash);
            await store.PutAsync(record).ConfigureAwait(false);
        }

        await AssertEnumeratesExactlyAsync(store, expected).ConfigureAwait(false);
    }

    /// <summary>Enumeration returns every hash once when records of very different sizes (empty to 100 KB) are interleaved.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(30_000)]
    public async Task EnumerateHashesAsync_RecordsOfManySizes_ReturnsEveryHashOnce()
    {
        IAssertionStore store = NewStore();
        var random = new Random(12);
        var expected = new HashSet<AssertionHash>();
        for (int i = 0; i < 400; i++)
        {
            int size = (i % 7) switch { 0 => 0, 1 => 100_000, 2 => 16_385, _ => random.Next(1, 5000) };
            AssertionRecord record = SizedRecord(random, size, i);
            expected.Add(record.Hash);
            await store.PutAsync(record).ConfigureAwait(false);
        }

        await AssertEnumeratesExactlyAsync(store, expected).ConfigureAwait(false);
    }

    /// <summary>Enumerating an empty store yields nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task EnumerateHashesAsync_EmptyStore_ReturnsNothing()
    {
        IAssertionStore store = NewStore();
        int seen = 0;

        await foreach (AssertionHash hash in store.EnumerateHashesAsync().ConfigureAwait(false))
        {
            seen++;
        }

        Assert.That(seen, Is.Zero);
    }

    /// <summary>Concurrent puts of overlapping records add each hash exactly once.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task PutAsync_ConcurrentOverlappingWriters_AddsEachHashExactlyOnce()
    {
        IAssertionStore store = NewStore();
        const int Writers = 8;
        const int PerWriter = 500;
        AssertionRecord[] records = Enumerable.Range(0, PerWriter).Select(i => Record(i)).ToArray();
        int added = 0;

        // Every writer puts the same records, in a different order.
        Task[] writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                AssertionRecord record = records[(i * 7 + w * 13) % PerWriter];
                if (await store.PutAsync(record).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref added);
                }
            }
        })).ToArray();
        await Task.WhenAll(writers).ConfigureAwait(false);

        Assert.That(added, Is.EqualTo(PerWriter));
        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.EqualTo(PerWriter));
    }

    /// <summary>Readers running during writes see only complete records.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GetAsync_ConcurrentWithPuts_SeesOnlyCompleteRecords()
    {
        IAssertionStore store = NewStore();
        AssertionRecord[] records = Enumerable.Range(0, 1000).Select(i => Record(i)).ToArray();
        int mismatches = 0;
        int hits = 0;

        Task writer = Task.Run(async () =>
        {
            foreach (AssertionRecord record in records)
            {
                await store.PutAsync(record).ConfigureAwait(false);
            }
        });
        Task reader = Task.Run(async () =>
        {
            for (int round = 0; round < 3; round++)
            {
                foreach (AssertionRecord record in records)
                {
                    AssertionRecord? seen = await store.GetAsync(record.Hash).ConfigureAwait(false);
                    if (seen is null)
                    {
                        continue;
                    }

                    hits++;
                    if (seen.Hash != record.Hash || !seen.Data.Span.SequenceEqual(record.Data.Span) || seen.Timestamp != record.Timestamp)
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                }
            }
        });
        await Task.WhenAll(writer, reader).ConfigureAwait(false);

        Assert.That(mismatches, Is.Zero);
        Assert.That(await store.CountAsync().ConfigureAwait(false), Is.EqualTo(records.Length));
        TestContext.Out.WriteLine($"{hits} reads observed a record during the writes.");
    }

    /// <summary>Every operation honours an already cancelled token.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task AllOperations_CancelledToken_ThrowOperationCanceled()
    {
        IAssertionStore store = NewStore();
        AssertionRecord present = Record(1);
        await store.PutAsync(present).ConfigureAwait(false);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync().ConfigureAwait(false);
        CancellationToken cancelled = cts.Token;

        Assert.Multiple(() =>
        {
            Assert.That(async () => await store.PutAsync(Record(2), cancelled).ConfigureAwait(false), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await store.GetAsync(present.Hash, cancelled).ConfigureAwait(false), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await store.GetManyAsync(new[] { present.Hash }, cancelled).ConfigureAwait(false), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await store.ContainsAsync(present.Hash, cancelled).ConfigureAwait(false), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await store.CountAsync(cancelled).ConfigureAwait(false), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(
                async () =>
                {
                    await foreach (AssertionHash hash in store.EnumerateHashesAsync(cancelled).ConfigureAwait(false))
                    {
                        _ = hash;
                    }
                },
                Throws.InstanceOf<OperationCanceledException>());
        });
    }

    /// <summary>Cancelling in the middle of an enumeration stops it.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(10_000)]
    public async Task EnumerateHashesAsync_CancelledMidway_Throws()
    {
        IAssertionStore store = NewStore();
        for (int i = 0; i < 100; i++)
        {
            await store.PutAsync(Record(i)).ConfigureAwait(false);
        }

        using var cts = new CancellationTokenSource();
        int seen = 0;

        Assert.That(
            async () =>
            {
                await foreach (AssertionHash hash in store.EnumerateHashesAsync(cts.Token).ConfigureAwait(false))
                {
                    if (++seen == 10)
                    {
                        await cts.CancelAsync().ConfigureAwait(false);
                    }
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.LessThan(100));
    }

    /// <summary>A record of <paramref name="size"/> random bytes plus its 4-byte number <paramref name="i"/>, stamped at time <paramref name="i"/>.</summary>
    private static AssertionRecord SizedRecord(Random random, int size, int i)
    {
        byte[] data = new byte[size + 4];
        random.NextBytes(data);
        BitConverter.TryWriteBytes(data.AsSpan(0, 4), i);
        return new AssertionRecord(AssertionHash.Compute(data), data, Timestamp((ulong)i));
    }

    /// <summary>Enumerates the store and checks that it yields exactly <paramref name="expected"/>, each hash once.</summary>
    private static async Task AssertEnumeratesExactlyAsync(IAssertionStore store, HashSet<AssertionHash> expected)
    {
        var seen = new List<AssertionHash>();
        await foreach (AssertionHash hash in store.EnumerateHashesAsync().ConfigureAwait(false))
        {
            seen.Add(hash);
        }

        Assert.That(seen, Has.Count.EqualTo(expected.Count));
        Assert.That(seen, Is.EquivalentTo(expected));
    }

    /// <summary>Creates a deterministic record whose hash really names its bytes.</summary>
    /// <param name="seed">Distinct seeds give distinct records.</param>
    /// <param name="time">HLC time.</param>
    /// <param name="counter">HLC counter.</param>
    /// <returns>The record.</returns>
    protected static AssertionRecord Record(int seed, ulong time = 1_700_000_000_000, uint counter = 0)
    {
        byte[] data = new byte[16 + (seed % 48)];
        new Random(seed).NextBytes(data);
        BitConverter.TryWriteBytes(data.AsSpan(0, 4), seed);
        return new AssertionRecord(AssertionHash.Compute(data), data, Timestamp(time, counter));
    }

    private static HlcTimestamp Timestamp(ulong time, uint counter = 0) =>
        new(time, counter, NodeId.Parse("0f0e0d0c0b0a09080706050403020100"));

    private IAssertionStore NewStore()
    {
        IAssertionStore store = CreateStore();
        _stores.Add(store);
        return store;
    }
}

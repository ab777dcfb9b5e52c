using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace StemeDb.Sync.RocksDb.Tests;

/// <summary>What the RocksDB store adds to the contract: reopening, the lock, foreign directories, settings.</summary>
[TestFixture]
public sealed class RocksDbAssertionStoreTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "stemedb-rocksdb-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task Reopen_AfterPuts_HoldsEveryRecordWithItsTimestampAndCount()
    {
        AssertionRecord[] records = Enumerable.Range(0, 5000).Select(i => Record(i)).ToArray();
        AssertionRecord unstamped = new(AssertionHash.Compute(new byte[] { 1, 2, 3 }), new byte[] { 1, 2, 3 }, HlcTimestamp.None);
        await using (RocksDbAssertionStore store = RocksDbAssertionStore.Open(_directory))
        {
            bool[] added = await Task.WhenAll(records.Append(unstamped).Select(r => store.PutAsync(r).AsTask()));
            Assert.That(added, Is.All.True);
        }

        await using RocksDbAssertionStore reopened = RocksDbAssertionStore.Open(_directory);
        var enumerated = new List<AssertionHash>();
        await foreach (AssertionHash hash in reopened.EnumerateHashesAsync())
        {
            enumerated.Add(hash);
        }

        AssertionRecord? first = await reopened.GetAsync(records[0].Hash);
        AssertionRecord? none = await reopened.GetAsync(unstamped.Hash);
        bool again = await reopened.PutAsync(records[1]);

        Assert.Multiple(() =>
        {
            Assert.That(reopened.CountAsync().Result, Is.EqualTo(5001));
            Assert.That(enumerated, Is.EquivalentTo(records.Select(r => r.Hash).Append(unstamped.Hash)));
            Assert.That(first!.Data.ToArray(), Is.EqualTo(records[0].Data.ToArray()));
            Assert.That(first.Timestamp, Is.EqualTo(records[0].Timestamp));
            Assert.That(none!.Timestamp.IsNone, Is.True);
            Assert.That(again, Is.False, "a hash held before the reopen is not added again");
        });
    }

    [Test]
    public async Task Crash_LastBatchTornInTheLog_EarlierBatchesWholeAndTheTornOneDroppedWhole()
    {
        // Five batches written (each synced to the log), then the directory copied as it is on disk while the store is
        // open (what a power loss leaves: the records are in the log only, not yet in tables), with the log's last
        // bytes cut off, as a write torn by the crash would leave them.
        AssertionRecord[][] batches = Enumerable.Range(0, 5).Select(b => Enumerable.Range(b * 100, 100).Select(i => Record(i)).ToArray()).ToArray();
        string crashed = _directory + "-crashed";
        await using (RocksDbAssertionStore store = RocksDbAssertionStore.Open(_directory))
        {
            foreach (AssertionRecord[] batch in batches)
            {
                await store.PutManyAsync(batch, new bool[batch.Length]);
            }

            Directory.CreateDirectory(crashed);
            foreach (string file in Directory.GetFiles(_directory).Where(f => Path.GetFileName(f) != "LOCK"))
            {
                File.Copy(file, Path.Combine(crashed, Path.GetFileName(file)));
            }
        }

        try
        {
            string log = Directory.GetFiles(crashed, "*.log").OrderBy(f => f, StringComparer.Ordinal).Last();
            long length = new FileInfo(log).Length;
            using (FileStream torn = File.Open(log, FileMode.Open))
            {
                torn.SetLength(length - 200); // inside the last batch's record, which is about 20 KiB
            }

            await using RocksDbAssertionStore recovered = RocksDbAssertionStore.Open(crashed);

            int[] held = new int[batches.Length];
            for (int b = 0; b < batches.Length; b++)
            {
                foreach (AssertionRecord record in batches[b])
                {
                    held[b] += await recovered.ContainsAsync(record.Hash) ? 1 : 0;
                }
            }

            Assert.That(held.Take(4), Is.All.EqualTo(100), "every batch before the torn one is there whole");
            Assert.That(held[4], Is.EqualTo(0), "the torn batch is dropped whole: none of its puts had completed");
            Assert.That(await recovered.CountAsync(), Is.EqualTo(400));
            bool[] addedAgain = new bool[100];
            await recovered.PutManyAsync(batches[4], addedAgain);
            Assert.That(addedAgain, Is.All.True, "the store takes the batch again");
            Assert.That(await recovered.CountAsync(), Is.EqualTo(500));
        }
        finally
        {
            Directory.Delete(crashed, recursive: true);
        }
    }

    [Test]
    public async Task Open_TwiceOnOneDirectory_SecondOpenFailsWithIOException()
    {
        await using RocksDbAssertionStore store = RocksDbAssertionStore.Open(_directory);

        IOException? refused = Assert.Throws<IOException>(() => RocksDbAssertionStore.Open(_directory));

        Assert.That(refused!.Message, Does.Contain("is already open"));
    }

    [Test]
    public void Open_DirectoryOfAnotherRocksDbDatabase_Refused()
    {
        using (RocksDbSharp.RocksDb other = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions().SetCreateIfMissing(true), _directory))
        {
            other.Put(new byte[] { 1 }, new byte[] { 2 });
        }

        IOException? refused = Assert.Throws<IOException>(() => RocksDbAssertionStore.Open(_directory));

        Assert.That(refused!.Message, Does.Contain("not a StemeDb.Sync store"));
    }

    [Test]
    public void Options_OutOfRange_RefusedNamingTheSetting()
    {
        ArgumentOutOfRangeException? refused = Assert.Throws<ArgumentOutOfRangeException>(
            () => RocksDbAssertionStore.Open(_directory, new RocksDbAssertionStoreOptions { MaxBatchSize = 0 }));

        Assert.Multiple(() =>
        {
            Assert.That(refused!.ParamName, Is.EqualTo("MaxBatchSize"));
            Assert.That(Directory.Exists(_directory), Is.False, "nothing is created for bad settings");
        });
    }

    [Test]
    public async Task Put_SameHashManyTimesConcurrently_AddedExactlyOnce()
    {
        await using RocksDbAssertionStore store = RocksDbAssertionStore.Open(_directory);
        AssertionRecord record = Record(7);

        bool[] added = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => store.PutAsync(record).AsTask()));

        Assert.Multiple(() =>
        {
            Assert.That(added.Count(a => a), Is.EqualTo(1));
            Assert.That(store.CountAsync().Result, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Put_HashesPastTheFiltersFirstGeneration_NewOnesAddedHeldOnesNot()
    {
        // The held-hash filter starts sized for 2^20 hashes and grows by generations; both answers must stay exact.
        await using RocksDbAssertionStore store = RocksDbAssertionStore.Open(_directory, new RocksDbAssertionStoreOptions { Durability = RocksDbDurability.ProcessCrashSafe });
        const int Count = (1 << 20) + 5000;
        for (int start = 0; start < Count; start += 50_000)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(50_000, Count - start)).Select(i => store.PutAsync(Small(i)).AsTask()));
        }

        bool[] again = await Task.WhenAll(new[] { 0, 1 << 19, Count - 1 }.Select(i => store.PutAsync(Small(i)).AsTask()));
        bool fresh = await store.PutAsync(Small(Count));

        Assert.Multiple(() =>
        {
            Assert.That(store.CountAsync().Result, Is.EqualTo(Count + 1));
            Assert.That(again, Is.All.False);
            Assert.That(fresh, Is.True);
        });
    }

    private static AssertionRecord Small(int i)
    {
        byte[] data = BitConverter.GetBytes(i);
        return new AssertionRecord(AssertionHash.Compute(data), data, HlcTimestamp.None);
    }

    private static AssertionRecord Record(int seed)
    {
        byte[] data = new byte[64];
        new Random(seed).NextBytes(data);
        BitConverter.TryWriteBytes(data, seed);
        return new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(1_700_000_000_000UL + (ulong)seed, (uint)seed, NodeId.Parse("0123456789abcdef0123456789abcdef")));
    }
}

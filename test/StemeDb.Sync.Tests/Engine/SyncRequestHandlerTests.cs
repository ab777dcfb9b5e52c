using System;
using System.Buffers.Binary;
using System.IO;
using System.Threading;
using StemeDb.Sync.Testing;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StemeDb.Sync.Tests.Engine;

[TestFixture]
public sealed class SyncRequestHandlerTests
{
    private FakeTimeProvider _time = null!;
    private InMemoryAssertionStore _store = null!;
    private SyncNode _node = null!;

    private ISyncRequestHandler Handler => _node.Handler;

    [SetUp]
    public async Task SetUp()
    {
        _time = new FakeTimeProvider(EngineTestKit.Start);
        _store = new InMemoryAssertionStore();
        _node = new SyncNode(EngineTestKit.Options(1, validator: new RejectFfValidator()), _store, timeProvider: _time);
        await _node.StartAsync();
    }

    [TearDown]
    public async Task TearDown() => await _node.DisposeAsync();

    private async Task<List<AssertionHash>> IngestAsync(int count)
    {
        var hashes = new List<AssertionHash>();
        for (int i = 0; i < count; i++)
        {
            hashes.Add((await _node.IngestAsync(EngineTestKit.Data(i))).Hash);
        }

        hashes.Sort();
        return hashes;
    }

    private static GossipMessage Message(AssertionRecord record) => new(
        record.Hash.ToArray(), record.Data.ToArray(), record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray());

    /// <summary>Records of <paramref name="size"/> bytes that the test validator accepts, each different.</summary>
    private static byte[] Sized(int i, int size)
    {
        byte[] data = new byte[size];
        data[0] = 0x5A;
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(1), i);
        return data;
    }

    private async Task<(SyncNode Node, List<AssertionHash> Hashes)> NodeWithRecordsAsync(IAssertionStore store, int count, int size, int maxAnswerBytes)
    {
        var node = new SyncNode(EngineTestKit.Options(2, o => o.MaxAnswerBytes = maxAnswerBytes, new RejectFfValidator()), store, timeProvider: _time);
        await node.StartAsync();
        var hashes = new List<AssertionHash>();
        for (int i = 0; i < count; i++)
        {
            hashes.Add((await node.IngestAsync(Sized(i, size))).Hash);
        }

        return (node, hashes);
    }

    [Test]
    public async Task FetchAsync_OneHashAskedAThousandTimes_AnswersItOnce()
    {
        List<AssertionHash> held = await IngestAsync(2);
        var hashes = Enumerable.Repeat((ReadOnlyMemory<byte>)held[0].ToArray(), 999).Append(held[1].ToArray()).ToList();

        IReadOnlyList<AssertionRecord> records = await Handler.FetchAsync(hashes);

        Assert.That(records.Select(r => r.Hash), Is.EqualTo(new[] { held[0], held[1] }));
    }

    [TestCase(false, TestName = "FetchAsync_AnswerOverTheByteBudget_StopsWithinItAndTheRestIsServedNext(in-memory store)")]
    [TestCase(true, TestName = "FetchAsync_AnswerOverTheByteBudget_StopsWithinItAndTheRestIsServedNext(host store, default bounded read)")]
    public async Task FetchAsync_AnswerOverTheByteBudget_StopsWithinItAndTheRestIsServedNext(bool hostStore)
    {
        (SyncNode node, List<AssertionHash> hashes) = await NodeWithRecordsAsync(hostStore ? new RecordKeepingStore() : new InMemoryAssertionStore(), 10, 20_000, 64 * 1024);
        await using SyncNode _ = node;
        ReadOnlyMemory<byte>[] ask = hashes.Select(h => (ReadOnlyMemory<byte>)h.ToArray()).ToArray();

        IReadOnlyList<AssertionRecord> first = await node.Handler.FetchAsync(ask);
        IReadOnlyList<AssertionRecord> second = await node.Handler.FetchAsync(ask[first.Count..]);

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(r => r.Hash), Is.EqualTo(hashes.Take(3)), "3 x 20,000 bytes fit 64 KiB, a fourth would not");
            Assert.That(second.Select(r => r.Hash), Is.EqualTo(hashes.Skip(3).Take(3)));
        });
    }

    [Test]
    public async Task FetchAsync_RecordLargerThanTheBudget_IsAnsweredAlone()
    {
        (SyncNode node, List<AssertionHash> hashes) = await NodeWithRecordsAsync(new InMemoryAssertionStore(), 3, 100_000, 64 * 1024);
        await using SyncNode _ = node;

        IReadOnlyList<AssertionRecord> records = await node.Handler.FetchAsync(hashes.Select(h => (ReadOnlyMemory<byte>)h.ToArray()).ToArray());

        Assert.That(records.Select(r => r.Hash), Is.EqualTo(hashes.Take(1)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StreamAssertionsAsync_LargeRecords_ReadsTheStoreWithinTheBudgetAndStreamsEveryRecord(CancellationToken cancellationToken)
    {
        var store = new BudgetWatchingStore();
        (SyncNode node, List<AssertionHash> hashes) = await NodeWithRecordsAsync(store, 10, 30_000, 64 * 1024);
        await using SyncNode _ = node;
        using var stream = new MemoryStream();

        await foreach (ReadOnlyMemory<byte> chunk in node.Handler.StreamAssertionsAsync(ReadOnlyMemory<byte>.Empty, 0, cancellationToken))
        {
            stream.Write(chunk.Span);
        }

        await using var copy = new SyncNode(EngineTestKit.Options(3, validator: new RejectFfValidator()), new InMemoryAssertionStore(), timeProvider: _time);
        await copy.StartAsync(cancellationToken);
        stream.Position = 0;
        await AssertionStream.ImportAsync(stream, copy, cancellationToken: cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(copy.Root, Is.EqualTo(node.Root), "every record streamed, once");
            Assert.That(store.LargestRead, Is.LessThanOrEqualTo(64 * 1024), "no store read past the budget");
            Assert.That(store.Reads, Is.GreaterThanOrEqualTo(5), "two records per page");
        });
    }

    private sealed class BudgetWatchingStore : ForwardingStore, IAssertionStore
    {
        public long LargestRead { get; private set; }

        public int Reads { get; private set; }

        public override ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default) => Inner.PutAsync(record, cancellationToken);

        public async ValueTask<IReadOnlyList<AssertionRecord>> GetManyWithinAsync(IReadOnlyList<AssertionHash> hashes, long maxBytes, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<AssertionRecord> records = await Inner.GetManyWithinAsync(hashes, maxBytes, cancellationToken);
            Reads++;
            LargestRead = Math.Max(LargestRead, records.Sum(r => (long)r.Data.Length));
            return records;
        }
    }

    [Test]
    public void FetchAsync_MoreThanThousandHashes_ThrowsInvalidArgument()
    {
        var hashes = Enumerable.Range(0, 1001).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Record(i).Hash.ToArray()).ToList();

        var ex = Assert.ThrowsAsync<SyncRequestException>(async () => await Handler.FetchAsync(hashes));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("1000").And.Contain("1001"));
    }

    [Test]
    public async Task FetchAsync_ExactlyThousandHashes_ReturnsHeldOnes()
    {
        List<AssertionHash> held = await IngestAsync(3);
        var hashes = Enumerable.Range(0, 997).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Record(i).Hash.ToArray())
            .Concat(held.Select(h => (ReadOnlyMemory<byte>)h.ToArray())).ToList();

        IReadOnlyList<AssertionRecord> records = await Handler.FetchAsync(hashes);

        Assert.That(records.Select(r => r.Hash), Is.EqualTo(held));
    }

    [TestCase(0)]
    [TestCase(31)]
    [TestCase(33)]
    public void FetchAsync_HashOfWrongLength_ThrowsInvalidArgument(int length)
    {
        var hashes = new List<ReadOnlyMemory<byte>> { new byte[32], new byte[length] };

        var ex = Assert.ThrowsAsync<SyncRequestException>(async () => await Handler.FetchAsync(hashes));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("#1").And.Contain($"{length} bytes"));
    }

    [Test]
    public async Task FetchAsync_UnknownHashesAmongKnown_SkipsUnknownKeepsOrder()
    {
        List<AssertionHash> held = await IngestAsync(3);
        var request = new List<ReadOnlyMemory<byte>>
        {
            held[2].ToArray(), new byte[32], held[0].ToArray(), EngineTestKit.Record(500).Hash.ToArray(),
        };

        IReadOnlyList<AssertionRecord> records = await Handler.FetchAsync(request);

        Assert.That(records.Select(r => r.Hash), Is.EqualTo(new[] { held[2], held[0] }));
        Assert.That(records.All(r => r.Hash.Matches(r.Data.Span)), Is.True);
    }

    [TestCase(0u, 10_000, true)]
    [TestCase(10_000u, 10_000, true)]
    [TestCase(10_001u, 10_000, true)]
    [TestCase(50_000u, 10_000, true)]
    [TestCase(9_999u, 9_999, true)]
    public async Task GetLeavesAsync_MoreThanCapHeld_CapsAtTenThousand(uint max, int expectedCount, bool expectedTruncated)
    {
        List<AssertionHash> held = await IngestAsync(10_001);

        LeavesPage page = await Handler.GetLeavesAsync(max);

        Assert.That(page.Leaves, Has.Count.EqualTo(expectedCount));
        Assert.That(page.Truncated, Is.EqualTo(expectedTruncated));
        Assert.That(page.Leaves, Is.EqualTo(held.Take(expectedCount)));
    }

    [TestCase(4u, 4, true)]
    [TestCase(5u, 5, false)]
    [TestCase(6u, 5, false)]
    [TestCase(0u, 5, false)]
    public async Task GetLeavesAsync_FiveHeld_TruncatedExactlyWhenMoreExist(uint max, int expectedCount, bool expectedTruncated)
    {
        List<AssertionHash> held = await IngestAsync(5);

        LeavesPage page = await Handler.GetLeavesAsync(max);

        Assert.That(page.Leaves, Is.EqualTo(held.Take(expectedCount)));
        Assert.That(page.Truncated, Is.EqualTo(expectedTruncated));
    }

    [Test]
    public async Task GetLeavesAsync_Empty_ReturnsNothingNotTruncated()
    {
        LeavesPage page = await Handler.GetLeavesAsync(10);

        Assert.That(page.Leaves, Is.Empty);
        Assert.That(page.Truncated, Is.False);
    }

    [TestCase(1)]
    [TestCase(31)]
    [TestCase(33)]
    public void ExchangeRootsAsync_RootOfWrongLength_ThrowsInvalidArgument(int length)
    {
        var ex = Assert.ThrowsAsync<SyncRequestException>(async () => await Handler.ExchangeRootsAsync(new byte[length], 0));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("merkle_root").And.Contain($"{length}"));
    }

    [Test]
    public async Task ExchangeRootsAsync_EqualRoot_MatchesAndReportsCount()
    {
        await IngestAsync(4);

        RootExchangeResult same = await Handler.ExchangeRootsAsync(_node.Root.ToArray(), 4);
        RootExchangeResult empty = await Handler.ExchangeRootsAsync(ReadOnlyMemory<byte>.Empty, 0);
        RootExchangeResult other = await Handler.ExchangeRootsAsync(new byte[32], 0);

        Assert.That(same.RootsMatch, Is.True);
        Assert.That(same.Remote, Is.EqualTo(new RootSummary(_node.Root, 4)));
        Assert.That(empty.RootsMatch, Is.False);
        Assert.That(other.RootsMatch, Is.False);
    }

    [TestCase(1)]
    [TestCase(15)]
    [TestCase(17)]
    public void PingAsync_NodeIdOfWrongLength_ThrowsInvalidArgument(int length)
    {
        var ex = Assert.ThrowsAsync<SyncRequestException>(async () => await Handler.PingAsync(new byte[length]));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("node_id"));
    }

    [Test]
    public async Task PingAsync_EmptyOrValidId_ReturnsOwnIdAndCount()
    {
        await IngestAsync(2);

        PingResult empty = await Handler.PingAsync(ReadOnlyMemory<byte>.Empty);
        PingResult valid = await Handler.PingAsync(EngineTestKit.NodeIdFor(5).ToArray());

        Assert.That(empty, Is.EqualTo(new PingResult(EngineTestKit.NodeIdFor(1), 2)));
        Assert.That(valid, Is.EqualTo(empty));
    }

    [Test]
    public async Task GossipAsync_Valid_StoresIndexesAndObservesClock()
    {
        var remote = new HlcTimestamp((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds() + 100, 7, EngineTestKit.NodeIdFor(2));
        AssertionRecord record = EngineTestKit.Record(1, remote);

        GossipResult result = await Handler.GossipAsync(Message(record));

        Assert.That(result, Is.EqualTo(GossipResult.Ok));
        AssertionRecord? stored = await _store.GetAsync(record.Hash);
        Assert.That(stored, Is.Not.Null);
        Assert.That(stored!.Timestamp, Is.EqualTo(remote));
        Assert.That(_node.Count, Is.EqualTo(1));
        Assert.That(_node.Clock.Current, Is.GreaterThan(remote));
    }

    [Test]
    public async Task GossipAsync_AlreadyHeld_AcceptedWithoutSecondCopy()
    {
        AssertionRecord record = EngineTestKit.Record(1);
        await Handler.GossipAsync(Message(record));

        GossipResult again = await Handler.GossipAsync(Message(record));

        Assert.That(again.Accepted, Is.True);
        Assert.That(await _store.CountAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task GossipAsync_HashOfWrongLength_RejectedNothingStored()
    {
        AssertionRecord record = EngineTestKit.Record(1);
        GossipMessage full = Message(record);
        var message = new GossipMessage(new byte[31], full.Data, full.HlcTime, full.HlcCounter, full.HlcNodeId);

        GossipResult result = await Handler.GossipAsync(message);

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("assertion_hash").And.Contain("31"));
        await AssertNothingStoredAndClockUnchangedAsync();
    }

    [Test]
    public async Task GossipAsync_NodeIdOfWrongLength_RejectedNothingStored()
    {
        GossipMessage full = Message(EngineTestKit.Record(1));
        var message = new GossipMessage(full.Hash, full.Data, full.HlcTime, full.HlcCounter, new byte[15]);

        GossipResult result = await Handler.GossipAsync(message);

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("hlc_node_id").And.Contain("15"));
        await AssertNothingStoredAndClockUnchangedAsync();
    }

    [Test]
    public async Task GossipAsync_HashDoesNotMatchData_RejectedNothingStored()
    {
        AssertionRecord record = EngineTestKit.Record(1);
        GossipMessage full = Message(record);
        var message = new GossipMessage(EngineTestKit.Record(2).Hash.ToArray(), full.Data, full.HlcTime, full.HlcCounter, full.HlcNodeId);

        GossipResult result = await Handler.GossipAsync(message);

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("does not match"));
        await AssertNothingStoredAndClockUnchangedAsync();
    }

    [Test]
    public async Task GossipAsync_InvalidContent_RejectedWithValidatorReason()
    {
        byte[] data = EngineTestKit.Data(1);
        data[0] = 0xFF;
        var record = new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(1, 0, EngineTestKit.NodeIdFor(2)));

        GossipResult result = await Handler.GossipAsync(Message(record));

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("first byte 0xFF"));
        await AssertNothingStoredAndClockUnchangedAsync();
    }

    [Test]
    public async Task GossipAsync_TimestampTooFarAhead_RejectedClockUnchanged()
    {
        ulong ahead = (ulong)EngineTestKit.Start.ToUnixTimeMilliseconds() + 501;
        AssertionRecord record = EngineTestKit.Record(1, new HlcTimestamp(ahead, 0, EngineTestKit.NodeIdFor(2)));

        GossipResult result = await Handler.GossipAsync(Message(record));

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("ahead of local wall time"));
        await AssertNothingStoredAndClockUnchangedAsync();
    }

    [Test]
    public async Task GossipAsync_TimestampAtDriftBound_Accepted()
    {
        ulong atBound = (ulong)EngineTestKit.Start.ToUnixTimeMilliseconds() + 500;
        AssertionRecord record = EngineTestKit.Record(1, new HlcTimestamp(atBound, 0, EngineTestKit.NodeIdFor(2)));

        GossipResult result = await Handler.GossipAsync(Message(record));

        Assert.That(result.Accepted, Is.True);
    }

    [Test]
    public async Task AllRequests_NodeNotStarted_ThrowUnavailable()
    {
        await using var node = new SyncNode(EngineTestKit.Options(2), new InMemoryAssertionStore());

        Assert.Multiple(() =>
        {
            Assert.That(async () => await node.Handler.GetLeavesAsync(1), Throws.TypeOf<SyncRequestException>().With.Property("Code").EqualTo(SyncStatusCode.Unavailable));
            Assert.That(async () => await node.Handler.PingAsync(ReadOnlyMemory<byte>.Empty), Throws.TypeOf<SyncRequestException>().With.Property("Code").EqualTo(SyncStatusCode.Unavailable));
            Assert.That(async () => await node.Handler.GossipAsync(Message(EngineTestKit.Record(1))), Throws.TypeOf<SyncRequestException>().With.Property("Code").EqualTo(SyncStatusCode.Unavailable));
        });
    }

    private async Task AssertNothingStoredAndClockUnchangedAsync()
    {
        Assert.That(await _store.CountAsync(), Is.Zero);
        Assert.That(_node.Count, Is.Zero);
        Assert.That(_node.Clock.Current, Is.EqualTo(new HlcTimestamp(0, 0, EngineTestKit.NodeIdFor(1))));
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Moq;
using StemeDb.Sync.Engine.Internal;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// The engine's checks of peer answers: whatever the transport, an answer outside the protocol fails the call with
/// <see cref="SyncStatusCode.InvalidResponse"/>, and an answer inside it passes through unchanged.
/// </summary>
[TestFixture]
public class PeerCallsTests
{
    private Mock<ISyncPeer> _peer = null!;

    [SetUp]
    public void SetUp()
    {
        _peer = new Mock<ISyncPeer>(MockBehavior.Strict);
        _peer.SetupGet(p => p.Name).Returns("peer");
    }

    private PeerCalls Calls() => new(_peer.Object, TimeSpan.FromMinutes(1), TimeProvider.System);

    private static AssertionHash Hash(int i) => EngineTestKit.Record(i).Hash;

    [Test]
    public async Task GetLeavesAsync_PageWithinTheLimit_PassesThrough()
    {
        var leaves = new[] { Hash(1), Hash(2) };
        _peer.Setup(p => p.GetLeavesAsync(2u, It.IsAny<CancellationToken>())).ReturnsAsync(new LeavesPage(leaves, true));

        LeavesPage page = await Calls().GetLeavesAsync(2, startAfter: null, CancellationToken.None);

        Assert.That(page.Leaves, Is.EqualTo(leaves));
        Assert.That(page.Truncated, Is.True);
    }

    [Test]
    public void GetLeavesAsync_MoreLeavesThanAsked_IsInvalidResponse()
    {
        _peer.Setup(p => p.GetLeavesAsync(1u, It.IsAny<CancellationToken>())).ReturnsAsync(new LeavesPage(new[] { Hash(1), Hash(2) }, false));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await Calls().GetLeavesAsync(1, startAfter: null, CancellationToken.None));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public void GetLeavesAsync_NullLeafList_IsInvalidResponse()
    {
        AssertionHash after = Hash(1);
        _peer.Setup(p => p.GetLeavesAsync(5u, after, It.IsAny<CancellationToken>())).ReturnsAsync(new LeavesPage(null!, false));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await Calls().GetLeavesAsync(5, after, CancellationToken.None));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public async Task FetchAsync_SomeOfTheAskedRecords_PassThrough()
    {
        AssertionRecord a = EngineTestKit.Record(1);
        AssertionHash[] asked = { a.Hash, Hash(2) };
        _peer.Setup(p => p.FetchAsync(asked, It.IsAny<CancellationToken>())).ReturnsAsync(new[] { a });

        IReadOnlyList<AssertionRecord> records = await Calls().FetchAsync(asked, CancellationToken.None);

        Assert.That(records, Is.EqualTo(new[] { a }));
    }

    private static IEnumerable<TestCaseData> BadFetchAnswers()
    {
        AssertionRecord a = EngineTestKit.Record(1);
        AssertionRecord other = EngineTestKit.Record(2);
        yield return new TestCaseData(new object?[] { new[] { a, other } }).SetName("FetchAsync_UnrequestedRecord_IsInvalidResponse");
        yield return new TestCaseData(new object?[] { new[] { other } }).SetName("FetchAsync_OnlyAnUnrequestedRecord_IsInvalidResponse");
        yield return new TestCaseData(new object?[] { new[] { a, a } }).SetName("FetchAsync_SameRecordTwice_IsInvalidResponse");
        yield return new TestCaseData(new object?[] { new AssertionRecord[] { a, null! } }).SetName("FetchAsync_NullRecord_IsInvalidResponse");
        yield return new TestCaseData(new object?[] { null }).SetName("FetchAsync_NullList_IsInvalidResponse");
    }

    [TestCaseSource(nameof(BadFetchAnswers))]
    public void FetchAsync_AnswerOutsideTheProtocol_IsInvalidResponse(AssertionRecord[]? answer)
    {
        AssertionHash[] asked = { EngineTestKit.Record(1).Hash, Hash(3) };
        _peer.Setup(p => p.FetchAsync(asked, It.IsAny<CancellationToken>())).ReturnsAsync(answer!);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await Calls().FetchAsync(asked, CancellationToken.None));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public async Task PushAsync_BatchAnsweredWithWrongCount_DropsTheExtensionAndPushesOneByOne()
    {
        AssertionRecord[] batch = { EngineTestKit.Record(1), EngineTestKit.Record(2) };
        _peer.Setup(p => p.GossipBatchAsync(batch, It.IsAny<CancellationToken>())).ReturnsAsync(new[] { GossipResult.Ok });
        _peer.Setup(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>())).ReturnsAsync(GossipResult.Ok);
        PeerCalls calls = Calls();

        PushAnswer answer = await calls.PushAsync(batch, CancellationToken.None);

        Assert.That(answer.Results, Is.EqualTo(new[] { GossipResult.Ok, GossipResult.Ok }));
        Assert.That(answer.Calls, Is.EqualTo(3), "one batch call, then one unary call per assertion");
        Assert.That(calls.Capabilities.GossipBatch, Is.False);
        _peer.Verify(p => p.GossipAsync(batch[0], It.IsAny<CancellationToken>()), Times.Once);
        _peer.Verify(p => p.GossipAsync(batch[1], It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task PushAsync_V1PeerAnswersUnimplemented_FallsBackOnceForGood()
    {
        AssertionRecord[] batch = { EngineTestKit.Record(1), EngineTestKit.Record(2) };
        _peer.Setup(p => p.GossipBatchAsync(It.IsAny<IReadOnlyList<AssertionRecord>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncPeerException(SyncStatusCode.Unimplemented, "v1"));
        _peer.Setup(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>())).ReturnsAsync(GossipResult.Ok);
        PeerCalls calls = Calls();

        await calls.PushAsync(batch, CancellationToken.None);
        PushAnswer second = await calls.PushAsync(batch, CancellationToken.None);

        Assert.That(second.Calls, Is.EqualTo(2));
        _peer.Verify(p => p.GossipBatchAsync(It.IsAny<IReadOnlyList<AssertionRecord>>(), It.IsAny<CancellationToken>()), Times.Once);
        _peer.Verify(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>()), Times.Exactly(4));
    }

    [Test]
    public async Task PushAsync_BatchAnsweredInFull_IsOneCall()
    {
        AssertionRecord[] batch = { EngineTestKit.Record(1), EngineTestKit.Record(2) };
        GossipResult[] results = { GossipResult.Ok, GossipResult.Rejected("no") };
        _peer.Setup(p => p.GossipBatchAsync(batch, It.IsAny<CancellationToken>())).ReturnsAsync(results);

        PushAnswer answer = await Calls().PushAsync(batch, CancellationToken.None);

        Assert.That(answer.Results, Is.EqualTo(results));
        Assert.That(answer.Calls, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Call_PeerStillRunningAtTheDeadline_TokenCancelledAndDeadlineExceeded()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var entered = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        _peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .Returns(async (RootSummary _, CancellationToken token) =>
            {
                entered.SetResult(token);
                await Task.Delay(Timeout.Infinite, token);
                return default;
            });
        var calls = new PeerCalls(_peer.Object, TimeSpan.FromSeconds(30), time);

        Task<RootExchangeResult> call = calls.ExchangeRootsAsync(default, CancellationToken.None).AsTask();
        CancellationToken seen = await entered.Task;
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.That(seen.IsCancellationRequested, Is.False);
        time.Advance(TimeSpan.FromSeconds(1));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await call);
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded));
        Assert.That(ex.Message, Does.Contain("ExchangeRoots").And.Contain("peer").And.Contain("00:00:30"));
        Assert.That(ex.InnerException, Is.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Call_PeerReportsTheCancelledCallAsUnavailableAfterTheDeadline_DeadlineExceeded()
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        _peer.Setup(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>()))
            .Returns((AssertionRecord _, CancellationToken _) =>
            {
                time.Advance(TimeSpan.FromMinutes(2)); // the deadline passes during the call
                throw new SyncPeerException(SyncStatusCode.Unavailable, "stream reset");
            });
        var calls = new PeerCalls(_peer.Object, TimeSpan.FromMinutes(1), time);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await calls.GossipAsync(EngineTestKit.Record(1), CancellationToken.None));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded));
    }

    [Test]
    public void Call_PeerUnavailableBeforeTheDeadline_StaysUnavailable()
    {
        _peer.Setup(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncPeerException(SyncStatusCode.Unavailable, "refused"));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await Calls().GossipAsync(EngineTestKit.Record(1), CancellationToken.None));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }

    [Test]
    public void Call_CallerCancels_StaysOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        _peer.Setup(p => p.FetchAsync(It.IsAny<IReadOnlyList<AssertionHash>>(), It.IsAny<CancellationToken>()))
            .Returns(async (IReadOnlyList<AssertionHash> _, CancellationToken token) =>
            {
                await cts.CancelAsync();
                token.ThrowIfCancellationRequested();
                return Array.Empty<AssertionRecord>();
            });

        Assert.CatchAsync<OperationCanceledException>(async () => await Calls().FetchAsync([Hash(1)], cts.Token));
    }
}

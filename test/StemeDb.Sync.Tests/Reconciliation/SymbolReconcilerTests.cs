using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Reconciliation;

[TestFixture]
[CancelAfter(60_000)]
public sealed class SymbolReconcilerTests
{
    [TestCase(2_000, 0)]
    [TestCase(2_000, 1)]
    [TestCase(2_000, 100)]
    [TestCase(6_000, 1_000)]
    [TestCase(40_000, 5_000)]
    [TestCase(0, 50)]
    public async Task Reconcile_InProcessResponder_FindsExactlyTheDifference(int shared, int differences)
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(shared, differences, seed: shared + differences);

        // Act
        ReconcileResult result = await SymbolReconciler.ReconcileCoreAsync(
            sets.Local, (request, _) => new(SymbolReconciler.Respond(sets.Remote, request)), CancellationToken.None);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(differences == 0 ? ReconcileStatus.Identical : ReconcileStatus.Reconciled));
            Assert.That(result.MissingLocally, Is.EqualTo(sets.OnlyRemote.Order()));
            Assert.That(result.MissingRemotely, Is.EqualTo(sets.OnlyLocal.Order()));
            Assert.That(result.LargestMessage, Is.LessThan(4 * 1024 * 1024));
        });
    }

    [Test]
    public async Task Reconcile_OneDifference_CostsOneExchangeUnder512Bytes()
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(10_000, 1, seed: 5);

        // Act
        ReconcileResult result = await SymbolReconciler.ReconcileCoreAsync(
            sets.Local, (request, _) => new(SymbolReconciler.Respond(sets.Remote, request)), CancellationToken.None);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(ReconcileStatus.Reconciled));
            Assert.That(result.RoundTrips, Is.EqualTo(1));
            Assert.That(result.PayloadBytes, Is.LessThanOrEqualTo(512));
        });
    }

    [Test]
    public async Task Reconcile_LeavesArriveOnBothSidesMidway_StillDescribesOneSetEach()
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(3_000, 300, seed: 6);
        var random = new Random(6);
        var bytes = new byte[AssertionHash.Length];
        int exchanges = 0;

        // Act: after every answer both sides take a new leaf
        ReconcileResult result = await SymbolReconciler.ReconcileCoreAsync(
            sets.Local,
            (request, _) =>
            {
                ReconcileSymbolsResponse response = SymbolReconciler.Respond(sets.Remote, request);
                exchanges++;
                random.NextBytes(bytes);
                sets.Remote.Add(new AssertionHash(bytes));
                random.NextBytes(bytes);
                sets.Local.Add(new AssertionHash(bytes));
                return new(response);
            },
            CancellationToken.None);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(exchanges, Is.GreaterThan(1));
            Assert.That(result.Status, Is.EqualTo(ReconcileStatus.Reconciled));
            Assert.That(result.MissingLocally, Is.EqualTo(sets.OnlyRemote.Order()));
            Assert.That(result.MissingRemotely, Is.EqualTo(sets.OnlyLocal.Order()));
        });
    }

    [TestCase(2u, 0ul, 6u, "version")]
    [TestCase(1u, 0ul, 0u, "count")]
    [TestCase(1u, 0ul, 65_537u, "count")]
    [TestCase(1u, 1ul << 20, 6u, "limit")]
    public void Respond_MalformedRequest_IsInvalidArgument(uint version, ulong start, uint count, string expected)
    {
        // Arrange
        var index = new MerkleIndex();

        // Act
        SyncRequestException? ex = Assert.Throws<SyncRequestException>(
            () => SymbolReconciler.Respond(index, new ReconcileSymbolsRequest(version, start, count, 0)));

        // Assert
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain(expected));
    }

    [Test]
    public void Respond_SnapshotFromTheFuture_SaysSnapshotGone()
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(100, 0, seed: 1);

        // Act
        ReconcileSymbolsResponse response = SymbolReconciler.Respond(sets.Local, new ReconcileSymbolsRequest(1, 6, 6, ulong.MaxValue));

        // Assert
        Assert.That(response.SnapshotGone, Is.True);
        Assert.That(response.Symbols.Length, Is.Zero);
    }

    [TestCase("truncated symbols")]
    [TestCase("symbols with a byte more")]
    [TestCase("a later answer of another snapshot")]
    [TestCase("a later answer of another count")]
    [TestCase("the first answer's snapshot gone")]
    public void Reconcile_AnswerOutsideTheProtocol_IsInvalidResponse(string tampering)
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(100, 100, seed: 3);
        ReconcileSymbolsResponse Tamper(ReconcileSymbolsRequest request, ReconcileSymbolsResponse response) => tampering switch
        {
            "truncated symbols" => response with { Symbols = response.Symbols[..^1] },
            "symbols with a byte more" => response with { Symbols = new byte[response.Symbols.Length + 1] },
            "a later answer of another snapshot" => request.Start == 0 ? response : response with { Snapshot = response.Snapshot + 1 },
            "a later answer of another count" => request.Start == 0 ? response : response with { AssertionCount = response.AssertionCount + 1 },
            _ => response with { Symbols = ReadOnlyMemory<byte>.Empty, SnapshotGone = true },
        };

        // Act
        SyncPeerException? ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SymbolReconciler.ReconcileCoreAsync(
            sets.Local, (request, _) => new(Tamper(request, SymbolReconciler.Respond(sets.Remote, request))), CancellationToken.None));

        // Assert
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public async Task Reconcile_AnswersOfEmptySymbolsForever_EndsAtTheSymbolLimit()
    {
        // Arrange: a peer whose every symbol is zero with count 0 except symbol 0 (which never empties)
        ReconcileTestSets sets = ReconcileTestSets.Create(50, 0, seed: 4);
        int exchanges = 0;

        // Act
        ReconcileResult result = await SymbolReconciler.ReconcileCoreAsync(
            sets.Local,
            (request, _) =>
            {
                exchanges++;
                byte[] symbols = new byte[request.Count * 37];
                if (request.Start == 0)
                {
                    symbols[36] = 7; // symbol 0: count 7, nothing else
                }

                return new(new ReconcileSymbolsResponse(7, 1, symbols, false));
            },
            CancellationToken.None);

        // Assert
        Assert.That(result.Status, Is.EqualTo(ReconcileStatus.DecodeFailed));
        Assert.That(exchanges, Is.LessThanOrEqualTo(ReconcileSymbolsLimits.MaxExchanges), "symbols that never decode cost a bounded number of messages");
    }
}

using System;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Reconciliation;

[TestFixture]
[CancelAfter(60_000)]
public class ReconcileHostileTests
{
    [Test]
    public async Task Reconcile_FirstTableTooSmall_RetriesWithLargerTableAndFindsDifference(CancellationToken cancellationToken)
    {
        // Arrange: the first answer carries a 3-cell table, which cannot decode 40 differences.
        ReconcileTestSets sets = ReconcileTestSets.Create(2_000, 40, seed: 11);
        var responder = ReconcileTestSets.Responder(sets.Remote, (response, round) =>
            round == 1
                ? response with
                {
                    Table = SetReconciler.Respond(
                        sets.Remote,
                        new ReconcileRoundRequest(1, 0, ReadOnlyMemory<byte>.Empty, response.Slices, 3, response.Salt)).Table,
                }
                : response);

        // Act
        ReconcileResult result = await SetReconciler.ReconcileCoreAsync(sets.Local, responder, cancellationToken);

        // Assert
        Assert.That(result.Status, Is.EqualTo(ReconcileStatus.Reconciled));
        Assert.That(result.RoundTrips, Is.InRange(2, SetReconciler.MaxRounds));
        SetReconcilerTests.AssertSameSet(result.MissingLocally, sets.OnlyRemote);
        SetReconcilerTests.AssertSameSet(result.MissingRemotely, sets.OnlyLocal);
    }

    [Test]
    public async Task Reconcile_TablesNeverDecode_GivesUpAfterFourRounds(CancellationToken cancellationToken)
    {
        // Arrange: every answer is a 3-cell table.
        ReconcileTestSets sets = ReconcileTestSets.Create(2_000, 60, seed: 12);
        var responder = ReconcileTestSets.Responder(sets.Remote, (response, round) =>
        {
            ReconcileRoundResponse small = SetReconciler.Respond(
                sets.Remote, new ReconcileRoundRequest(1, 0, ReadOnlyMemory<byte>.Empty, response.Slices, 3, response.Salt));
            return round == 1 ? response with { Table = small.Table } : response with { Table = Garbage(response.Table.Length, round) };
        });

        // Act
        ReconcileResult result = await SetReconciler.ReconcileCoreAsync(sets.Local, responder, cancellationToken);

        // Assert
        Assert.That(result.Status, Is.EqualTo(ReconcileStatus.DecodeFailed));
        Assert.That(result.RoundTrips, Is.EqualTo(SetReconciler.MaxRounds));
        Assert.That(result.MissingLocally, Is.Empty);
    }

    [Test]
    public void Reconcile_TableOfWrongLength_IsInvalidResponse()
    {
        ReconcileTestSets sets = ReconcileTestSets.Create(500, 5, seed: 13);
        var responder = ReconcileTestSets.Responder(sets.Remote, (response, _) => response with { Table = new byte[45] });

        SyncPeerException? ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SetReconciler.ReconcileCoreAsync(sets.Local, responder, default));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public void Reconcile_TableWithAnotherSalt_IsInvalidResponse()
    {
        ReconcileTestSets sets = ReconcileTestSets.Create(500, 5, seed: 14);
        var responder = ReconcileTestSets.Responder(sets.Remote, (response, _) => response with { Salt = response.Salt + 1 });

        SyncPeerException? ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SetReconciler.ReconcileCoreAsync(sets.Local, responder, default));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public void Reconcile_MissingSlicesBitmap_IsInvalidResponse()
    {
        ReconcileTestSets sets = ReconcileTestSets.Create(500, 5, seed: 15);
        var responder = ReconcileTestSets.Responder(sets.Remote, (response, _) => response with { Slices = new byte[3] });

        SyncPeerException? ex = Assert.ThrowsAsync<SyncPeerException>(async () => await SetReconciler.ReconcileCoreAsync(sets.Local, responder, default));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Reconcile_RandomGarbageTable_FailsCleanlyWithoutInventingHashes(int seed)
    {
        // Arrange: a table of the announced size filled with random bytes.
        ReconcileTestSets sets = ReconcileTestSets.Create(500, 5, seed: 20 + seed);
        var responder = ReconcileTestSets.Responder(sets.Remote, (response, round) => response with { Table = Garbage(response.Table.Length, seed * 10 + round) });

        // Act
        ReconcileResult? result = null;
        SyncPeerException? error = null;
        try
        {
            result = await SetReconciler.ReconcileCoreAsync(sets.Local, responder, default);
        }
        catch (SyncPeerException ex)
        {
            error = ex;
        }

        // Assert: either a decode failure or a protocol violation; never a "reconciled" answer.
        if (error is not null)
        {
            Assert.That(error.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
        }
        else
        {
            Assert.That(result!.Status, Is.EqualTo(ReconcileStatus.DecodeFailed));
        }
    }

    [Test]
    public void Respond_UnknownVersion_IsInvalidArgument()
    {
        var index = new MerkleIndex();
        var request = new ReconcileRoundRequest(2, 0, new byte[3072], ReadOnlyMemory<byte>.Empty, 0, 1);

        SyncRequestException? ex = Assert.Throws<SyncRequestException>(() => SetReconciler.Respond(index, request));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Does.Contain("version"));
    }

    [TestCase(0, 0, 0, TestName = "Respond_EmptyRound_IsInvalidArgument")]
    [TestCase(3071, 0, 0, TestName = "Respond_ShortFingerprints_IsInvalidArgument")]
    [TestCase(3072, 16, 0, TestName = "Respond_FingerprintsWithSlices_IsInvalidArgument")]
    [TestCase(0, 16, 0, TestName = "Respond_RetryWithoutCells_IsInvalidArgument")]
    [TestCase(0, 16, 4, TestName = "Respond_RetryCellsNotMultipleOfThree_IsInvalidArgument")]
    [TestCase(0, 16, 90_003, TestName = "Respond_RetryTooManyCells_IsInvalidArgument")]
    [TestCase(0, 15, 30, TestName = "Respond_RetryShortBitmap_IsInvalidArgument")]
    public void Respond_MalformedRound_IsInvalidArgument(int fingerprints, int slices, int cells)
    {
        var index = new MerkleIndex();
        byte[] bitmap = new byte[slices];
        bitmap.AsSpan().Fill(0xFF);
        var request = new ReconcileRoundRequest(1, 0, new byte[fingerprints], bitmap, (uint)cells, 1);

        SyncRequestException? ex = Assert.Throws<SyncRequestException>(() => SetReconciler.Respond(index, request));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
    }

    [Test]
    public void Respond_EveryFingerprintDiffers_AnswersTooManyDifferencesWithoutTable()
    {
        // Random fingerprints mismatch every slice of every level: more differences than a table may carry.
        ReconcileTestSets sets = ReconcileTestSets.Create(1_000, 0, seed: 30);
        var request = new ReconcileRoundRequest(1, 5, Garbage(3072, 1), ReadOnlyMemory<byte>.Empty, 0, 9);

        ReconcileRoundResponse response = SetReconciler.Respond(sets.Remote, request);

        Assert.That(response.TooManyDifferences, Is.True);
        Assert.That(response.Table.Length, Is.Zero);
        Assert.That(response.AssertionCount, Is.EqualTo(1_000UL));
    }

    private static byte[] Garbage(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

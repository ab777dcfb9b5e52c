using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Reconciliation;

[TestFixture]
[CancelAfter(60_000)]
public class SetReconcilerTests
{
    [TestCase(2_000, 0)]
    [TestCase(2_000, 1)]
    [TestCase(2_000, 2)]
    [TestCase(2_000, 7)]
    [TestCase(3_000, 100)]
    [TestCase(3_000, 1_000)]
    [TestCase(1_000, 4_000)]
    [TestCase(0, 50)]
    public async Task Reconcile_RandomSetsSplitBothWays_FindsExactDifference(int shared, int differences, CancellationToken cancellationToken)
    {
        for (int seed = 0; seed < 3; seed++)
        {
            // Arrange
            ReconcileTestSets sets = ReconcileTestSets.Create(shared, differences, seed);

            // Act
            ReconcileResult result = await SetReconciler.ReconcileCoreAsync(sets.Local, ReconcileTestSets.Responder(sets.Remote), cancellationToken);

            // Assert
            Assert.That(result.Status, Is.EqualTo(differences == 0 ? ReconcileStatus.Identical : ReconcileStatus.Reconciled), $"seed {seed}");
            AssertSameSet(result.MissingLocally, sets.OnlyRemote);
            AssertSameSet(result.MissingRemotely, sets.OnlyLocal);
            Assert.That(result.MissingLocally, Is.Ordered);
            Assert.That(result.MissingRemotely, Is.Ordered);
            Assert.That(result.RoundTrips, Is.InRange(1, SetReconciler.MaxRounds));
            if (result.RoundTrips == 1)
            {
                // A retry (rare: a table that does not decode) doubles the table; the budget is for the first round.
                Assert.That(result.PayloadBytes, Is.LessThanOrEqualTo((128L * differences) + 4096), "bytes within 128 per difference + 4 KB");
            }
        }
    }

    // NUnit's EquivalentTo is quadratic; thousands of hashes need a set comparison.
    internal static void AssertSameSet(IReadOnlyList<AssertionHash> actual, HashSet<AssertionHash> expected)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count));
        Assert.That(expected.SetEquals(actual), Is.True, "the same hashes");
    }
}

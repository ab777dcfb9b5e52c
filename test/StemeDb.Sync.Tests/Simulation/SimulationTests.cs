using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace StemeDb.Sync.Tests.Simulation;

/// <summary>
/// Seeded cluster simulations. CI runs <see cref="CiSeedCount"/> small seeds and one large configuration.
/// Set <c>STEMEDB_SIM_SEEDS=N</c> (and optionally <c>STEMEDB_SIM_FIRST_SEED</c>) to run N more seeds in the
/// explicit <c>SimulationLong</c> category:
/// <c>STEMEDB_SIM_SEEDS=2000 dotnet test test/StemeDb.Sync.Tests --filter TestCategory=SimulationLong</c>.
/// </summary>
[TestFixture]
public sealed class SimulationTests
{
    private const int CiSeedCount = 200;

    private static IEnumerable<TestCaseData> CiSeeds() =>
        Enumerable.Range(1, CiSeedCount).Select(seed => new TestCaseData(seed).SetName($"Converges_Seed{seed:D4}"));

    private const int MixedSeedCount = 60;

    private static IEnumerable<TestCaseData> MixedSeeds() =>
        Enumerable.Range(1, MixedSeedCount).Select(seed => new TestCaseData(seed).SetName($"MixedVersions_Seed{seed:D4}"));

    private static IEnumerable<TestCaseData> LongSeeds()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("STEMEDB_SIM_SEEDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 0;
        int first = int.TryParse(Environment.GetEnvironmentVariable("STEMEDB_SIM_FIRST_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int f) ? f : 100_000;
        return Enumerable.Range(first, count).Select(seed => new TestCaseData(seed).SetName($"LongConverges_Seed{seed}"));
    }

    /// <summary>The small CI configuration: 5 to 8 nodes and 150 to 300 assertions, chosen by the seed.</summary>
    private static SimulationConfig SmallConfig(int seed)
    {
        var random = new Random(seed);
        return new SimulationConfig(Nodes: 5 + random.Next(4), Assertions: 150 + random.Next(151));
    }

    [TestCaseSource(nameof(CiSeeds))]
    [CancelAfter(60_000)]
    public void Simulation_SmallClusterWithFaults_ConvergesToAcknowledgedUnion(int seed)
    {
        Run(seed, SmallConfig(seed), $"Name=Converges_Seed{seed:D4}");
    }

    /// <summary>Nodes of every wire version in one cluster (v1, before ReconcileSymbols, current), with the same faults.</summary>
    [TestCaseSource(nameof(MixedSeeds))]
    [CancelAfter(60_000)]
    public void Simulation_MixedWireVersions_ConvergesToAcknowledgedUnion(int seed)
    {
        Run(seed, SmallConfig(seed) with { MixedVersions = true }, $"Name=MixedVersions_Seed{seed:D4}");
    }

    private const int PushSeedCount = 40;

    private static IEnumerable<TestCaseData> PushSeeds() =>
        Enumerable.Range(1, PushSeedCount).Select(seed => new TestCaseData(seed).SetName($"PushOnly_Seed{seed:D4}"));

    /// <summary>
    /// Live gossip on its own (the <c>Broadcast</c> extension: eager pushes, delayed announcements, pulls, grafts and
    /// prunes), with no loss, crash, partition or anti-entropy, in a random delivery order: every node ends with every
    /// assertion, by push alone.
    /// </summary>
    [TestCaseSource(nameof(PushSeeds))]
    [CancelAfter(60_000)]
    public void Simulation_PushOnly_EveryNodeReachedWithoutAntiEntropy(int seed)
    {
        var random = new Random(seed);
        var config = new SimulationConfig(
            Nodes: 6 + random.Next(10),
            Assertions: 100 + random.Next(101),
            DropRate: 0,
            AnswerLossRate: 0,
            DuplicateRate: 0,
            CrashWeight: 0,
            PartitionWeight: 0,
            AntiEntropyWeight: 0,
            GossipQueueCapacity: 1024,
            PushOnly: true);
        Run(seed, config, $"Name=PushOnly_Seed{seed:D4}");
    }

    [Test]
    [CancelAfter(600_000)]
    public void Simulation_SixteenNodesTenThousandAssertions_ConvergesToAcknowledgedUnion()
    {
        var config = new SimulationConfig(Nodes: 16, Assertions: 10_000, AntiEntropyWeight: 0.002, GossipQueueCapacity: 256, FetchBatchSize: 1000);
        Run(7, config, "Name=Simulation_SixteenNodesTenThousandAssertions_ConvergesToAcknowledgedUnion");
    }

    [TestCaseSource(nameof(LongSeeds))]
    [Category("SimulationLong")]
    [Explicit("Long run; set STEMEDB_SIM_SEEDS.")]
    [CancelAfter(120_000)]
    public void Simulation_LongRun_ConvergesToAcknowledgedUnion(int seed)
    {
        Run(seed, SmallConfig(seed), $"Name=LongConverges_Seed{seed}");
    }

    [Test]
    [CancelAfter(60_000)]
    public void Simulation_SameSeedTwice_SameRun()
    {
        SimulationOutcome first = new SyncSimulation(42, SmallConfig(42)).Run();
        SimulationOutcome second = new SyncSimulation(42, SmallConfig(42)).Run();

        Assert.That(second, Is.EqualTo(first));
    }

    private static void Run(int seed, SimulationConfig config, string filter)
    {
        var simulation = new SyncSimulation(seed, config);
        SimulationOutcome outcome;
        try
        {
            outcome = simulation.Run(TestContext.CurrentContext.CancellationToken);
        }
        catch (Exception ex)
        {
            Assert.Fail($"Simulation threw: {ex.Message}{Environment.NewLine}{Reproduce(simulation, filter)}{Environment.NewLine}{ex}");
            return;
        }

        IReadOnlyList<string> failures = simulation.Verify();
        TestContext.Out.WriteLine($"seed {seed}: {outcome}");
        Assert.That(failures, Is.Empty, () => $"Nodes did not converge:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}{Environment.NewLine}{Reproduce(simulation, filter)}");
        Assert.That(outcome.Acknowledged, Is.EqualTo(config.Assertions));
    }

    private static string Reproduce(SyncSimulation simulation, string filter) =>
        $"Reproduce: dotnet test test/StemeDb.Sync.Tests --filter \"{filter}\"{Environment.NewLine}{simulation.Describe()}";
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Testing;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Simulation;

/// <summary>The shape of one simulated cluster run.</summary>
internal sealed record SimulationConfig(
    int Nodes,
    int Assertions,
    double DropRate = 0.10,
    double AnswerLossRate = 0.05,
    double DuplicateRate = 0.05,
    double CrashWeight = 0.01,
    double PartitionWeight = 0.01,
    double AntiEntropyWeight = 0.04,
    int GossipQueueCapacity = 16,
    int GossipFanout = 2,
    int FetchBatchSize = 50,
    bool MixedVersions = false,
    bool PushOnly = false)
{
    public override string ToString() =>
        $"{Nodes} nodes, {Assertions} assertions, drop {DropRate}, answer loss {AnswerLossRate}, duplicate {DuplicateRate}, queue {GossipQueueCapacity}, fanout {GossipFanout}, fetch batch {FetchBatchSize}{(MixedVersions ? ", mixed wire versions" : string.Empty)}{(PushOnly ? ", push only" : string.Empty)}";
}

/// <summary>What a run did, for the test output.</summary>
internal sealed record SimulationOutcome(
    int Steps,
    int Acknowledged,
    int Crashes,
    int Partitions,
    int HealRounds,
    InMemoryNetworkStatistics Network);

/// <summary>
/// A deterministic cluster simulation: one seeded scheduler drives the real <see cref="SyncNode"/> logic step by
/// step over a manual-delivery <see cref="InMemoryNetwork"/> (loss, duplication, delay and reordering by random
/// delivery order, partitions) and a fake clock, with node crashes (in-memory state lost, store kept) and
/// restarts. Continuations run inline when the scheduler delivers a message or advances time. The few that the
/// runtime moves to the thread pool (a <see cref="CancellationTokenSource.CancelAsync"/> in the engine runs its callbacks
/// there) are counted as this run's work, through the execution context they carry (<see cref="_runContext"/>), and every
/// step waits until none is queued or running before the next one: the schedule depends on the seed alone, never on how
/// fast the machine is, so a seed always replays the same run.
/// </summary>
internal sealed class SyncSimulation
{
    private const int MaxHealRounds = 4;

    private readonly int _seed;
    private readonly SimulationConfig _config;
    private readonly Random _random;
    private readonly FakeTimeProvider _time = new(EngineTestKit.Start);
    private readonly InMemoryNetwork _network;
    private readonly InMemoryAssertionStore[] _stores;
    private readonly SyncNode?[] _nodes;
    private readonly ISyncPeer[][] _peers;
    private readonly WireVersion[] _versions;
    private readonly HashSet<AssertionHash> _acknowledged = new();
    private readonly List<Task> _outstanding = new();
    private readonly Queue<string> _trace = new();
    private int _steps;
    private int _crashes;
    private int _partitions;
    private CancellationToken _cancellationToken;

    /// <summary>
    /// Marks the execution context of this run: set on the simulation thread when the run starts, it flows into every
    /// work item the run's code queues to the thread pool, and its change handler counts the pool threads running in it.
    /// </summary>
    private readonly AsyncLocal<SyncSimulation?> _runContext;

    /// <summary>Pool threads running this run's work now (entered its execution context and not yet left it).</summary>
    private int _poolThreadsInRun;

    private int _simulationThread;
    private int _baselineBusyWorkers;

    public SyncSimulation(int seed, SimulationConfig config)
    {
        _seed = seed;
        _config = config;
        _random = new Random(seed);
        _runContext = new AsyncLocal<SyncSimulation?>(OnRunContextChanged);
        _network = new InMemoryNetwork(unchecked((seed * 7919) + 17), manualDelivery: true)
        {
            DropRate = config.DropRate,
            AnswerLossRate = config.AnswerLossRate,
            DuplicateRate = config.DuplicateRate,
        };
        _stores = Enumerable.Range(0, config.Nodes).Select(_ => new InMemoryAssertionStore()).ToArray();
        _nodes = new SyncNode?[config.Nodes];
        _peers = new ISyncPeer[config.Nodes][];

        // With mixed versions, each node speaks one wire version (from its own generator, so that the run's other
        // choices stay those of the seed); its callers see it through that version.
        var versions = new Random(unchecked((seed * 31) + 5));
        _versions = Enumerable.Range(0, config.Nodes)
            .Select(_ => config.MixedVersions ? (WireVersion)versions.Next(3) : WireVersion.Current)
            .ToArray();
    }

    public static string Name(int i) => $"n{i}";

    public SimulationOutcome Run(CancellationToken cancellationToken = default)
    {
        _cancellationToken = cancellationToken;
        _simulationThread = Environment.CurrentManagedThreadId;
        _baselineBusyWorkers = BusyWorkers();
        _runContext.Value = this;
        try
        {
            return RunSteps(cancellationToken);
        }
        finally
        {
            _runContext.Value = null; // a synchronous method's change stays on the thread: undo it
        }
    }

    private SimulationOutcome RunSteps(CancellationToken cancellationToken)
    {
        for (int i = 0; i < _config.Nodes; i++)
        {
            StartNode(i);
        }

        int nextAssertion = 0;
        while (nextAssertion < _config.Assertions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _steps++;
            double r = _random.NextDouble();
            double crash = _config.CrashWeight;
            double partition = crash + _config.PartitionWeight;
            double antiEntropy = partition + _config.AntiEntropyWeight;
            if (r < crash)
            {
                CrashOrRestart();
            }
            else if (r < partition)
            {
                PartitionOrHeal();
            }
            else if (r < antiEntropy)
            {
                StartAntiEntropy();
            }
            else if (r < antiEntropy + 0.08)
            {
                AdvanceTime(TimeSpan.FromMilliseconds(1 + _random.Next(300)));
            }
            else if (r < antiEntropy + 0.25)
            {
                PumpGossip();
            }
            else if (r < antiEntropy + 0.30)
            {
                Announce();
            }
            else if (r < antiEntropy + 0.65)
            {
                Deliver(1 + _random.Next(4));
            }
            else
            {
                Ingest(nextAssertion++);
            }

            AwaitPoolWork();
            CollectOutstanding();
        }

        int rounds = _config.PushOnly ? SettlePush() : Heal();
        return new SimulationOutcome(_steps, _acknowledged.Count, _crashes, _partitions, rounds, _network.Statistics);
    }

    /// <summary>Checks that every node holds exactly the acknowledged assertions; returns the failures.</summary>
    public IReadOnlyList<string> Verify()
    {
        var failures = new List<string>();
        AssertionHash expectedRoot = EngineTestKit.RootOf(_acknowledged);
        for (int i = 0; i < _nodes.Length; i++)
        {
            SyncNode node = _nodes[i]!;
            long stored = Complete(_stores[i].CountAsync());
            if (node.Count != _acknowledged.Count || stored != _acknowledged.Count || node.Root != expectedRoot)
            {
                int missing = _acknowledged.Count(h => !Complete(_stores[i].ContainsAsync(h)));
                failures.Add($"{Name(i)}: index {node.Count}, store {stored}, acknowledged {_acknowledged.Count}, missing {missing}, root {(node.Root == expectedRoot ? "equal" : "differs")}");
            }
        }

        return failures;
    }

    public string Describe() =>
        $"seed {_seed} ({_config}{(_config.MixedVersions ? "; versions " + string.Join(", ", _versions) : string.Empty)}); last events:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", _trace);

    private void Note(string text)
    {
        _trace.Enqueue($"#{_steps} {text}");
        if (_trace.Count > 40)
        {
            _trace.Dequeue();
        }
    }

    private static T Complete<T>(ValueTask<T> task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("A step that must complete synchronously in the simulation did not.");
        }

        return task.GetAwaiter().GetResult();
    }

    private static void Complete(ValueTask task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("A step that must complete synchronously in the simulation did not.");
        }

        task.GetAwaiter().GetResult();
    }

    private SyncNodeOptions Options(int i) => EngineTestKit.Options(i, o =>
    {
        o.RunBackgroundLoops = false;
        o.RandomSeed = unchecked((_seed * 131) + i);
        o.GossipFanout = _config.GossipFanout;
        o.GossipQueueCapacity = _config.GossipQueueCapacity;
        o.GossipMaxAttempts = 3;
        o.GossipRetryBaseDelay = TimeSpan.FromMilliseconds(20);
        o.GossipRetryMaxDelay = TimeSpan.FromMilliseconds(200);
        o.FetchBatchSize = _config.FetchBatchSize;
        o.PeerCallTimeout = TimeSpan.FromSeconds(5);
    });

    private void StartNode(int i)
    {
        var node = new SyncNode(Options(i), _stores[i], timeProvider: _time);
        Complete(node.StartAsync());
        _nodes[i] = node;
        _network.SetEndpoint(Name(i), node.Handler);
        _network.Reconnect(Name(i));
        _peers[i] = Enumerable.Range(0, _nodes.Length)
            .Where(j => j != i)
            .Select(j => _versions[j] == WireVersion.Current ? _network.CreatePeer(Name(i), Name(j)) : new OlderVersionPeer(_network.CreatePeer(Name(i), Name(j)), _versions[j]))
            .ToArray();
        foreach (ISyncPeer peer in _peers[i])
        {
            node.AddPeer(peer);
        }
    }

    private int RandomLiveNode()
    {
        int start = _random.Next(_nodes.Length);
        for (int k = 0; k < _nodes.Length; k++)
        {
            int i = (start + k) % _nodes.Length;
            if (_nodes[i] is not null)
            {
                return i;
            }
        }

        throw new InvalidOperationException("No node is running.");
    }

    private void Ingest(int n)
    {
        int i = RandomLiveNode();
        byte[] data = EngineTestKit.Data(n, _seed);
        IngestResult result = Complete(_nodes[i]!.IngestAsync(data));
        _acknowledged.Add(result.Hash);
        Note($"ingest #{n} at {Name(i)}");
    }

    private void Deliver(int count)
    {
        for (int k = 0; k < count; k++)
        {
            if (!Complete(_network.DeliverNextAsync()))
            {
                return;
            }
        }
    }

    private void PumpGossip()
    {
        int i = RandomLiveNode();
        Note($"pump gossip at {Name(i)} ({_nodes[i]!.PendingGossipCount} queued)");
        Track(_nodes[i]!.PumpGossipOnceAsync().AsTask());
    }

    private void Announce()
    {
        int i = RandomLiveNode();
        Note($"announce at {Name(i)} ({_nodes[i]!.HeldAnnouncementCount} held)");
        Track(_nodes[i]!.AnnounceDueAsync().AsTask());
    }

    /// <summary>
    /// For a run without faults or anti-entropy: lets live gossip finish on its own (messages delivered, queues pumped,
    /// announcements sent as they fall due, time moved on when nothing else is left), so that what every node holds is
    /// what push alone brought it. Returns 0 (no anti-entropy round).
    /// </summary>
    private int SettlePush()
    {
        Note("settle push");
        for (int guard = 0; ; guard++)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (guard > 1_000_000)
            {
                throw new InvalidOperationException("Live gossip did not settle.");
            }

            bool delivered = Complete(_network.DeliverNextAsync());
            AwaitPoolWork();
            if (delivered)
            {
                continue;
            }

            bool pumped = false;
            for (int i = 0; i < _nodes.Length; i++)
            {
                if (_nodes[i]!.PendingGossipCount > 0)
                {
                    Track(_nodes[i]!.PumpGossipOnceAsync().AsTask());
                    AwaitPoolWork();
                    pumped = true;
                }
            }

            if (pumped || Settled(() => false))
            {
                continue;
            }

            if (_nodes.All(n => n!.HeldAnnouncementCount == 0) && _outstanding.All(t => t.IsCompleted))
            {
                CollectOutstanding();
                return 0;
            }

            _time.Advance(TimeSpan.FromMilliseconds(50));
            AwaitPoolWork();
            for (int i = 0; i < _nodes.Length; i++)
            {
                Track(_nodes[i]!.AnnounceDueAsync().AsTask());
                AwaitPoolWork();
            }

            CollectOutstanding();
        }
    }

    private void StartAntiEntropy()
    {
        int i = RandomLiveNode();
        ISyncPeer peer = _peers[i][_random.Next(_peers[i].Length)];
        Note($"anti-entropy {Name(i)} -> {peer.Name}");
        Track(_nodes[i]!.SyncWithPeerAsync(peer).AsTask());
    }

    private void AdvanceTime(TimeSpan by)
    {
        Note($"advance time {by.TotalMilliseconds} ms");
        _time.Advance(by);
    }

    private void CrashOrRestart()
    {
        int live = _nodes.Count(n => n is not null);
        int i = _random.Next(_nodes.Length);
        if (_nodes[i] is null)
        {
            Note($"restart {Name(i)}");
            StartNode(i);
        }
        else if (live > 1)
        {
            Note($"crash {Name(i)}");
            _crashes++;
            SyncNode node = _nodes[i]!;
            _nodes[i] = null;
            _network.Disconnect(Name(i));
            Complete(node.DisposeAsync());
        }
    }

    private void PartitionOrHeal()
    {
        if (_random.Next(2) == 0)
        {
            Note("heal partitions");
            _network.HealPartitions();
            return;
        }

        _partitions++;
        var sideA = new List<string>();
        var sideB = new List<string>();
        for (int i = 0; i < _nodes.Length; i++)
        {
            (_random.Next(2) == 0 ? sideA : sideB).Add(Name(i));
        }

        Note($"partition [{string.Join(",", sideA)}] | [{string.Join(",", sideB)}]");
        _network.Partition(sideA, sideB);
    }

    private void Track(Task task)
    {
        if (task.IsCompleted)
        {
            Observe(task);
        }
        else
        {
            _outstanding.Add(task);
        }
    }

    private void CollectOutstanding()
    {
        for (int k = _outstanding.Count - 1; k >= 0; k--)
        {
            if (_outstanding[k].IsCompleted)
            {
                Observe(_outstanding[k]);
                _outstanding.RemoveAt(k);
            }
        }
    }

    private void Observe(Task task)
    {
        if (task.IsFaulted)
        {
            Exception ex = task.Exception!.GetBaseException();
            if (ex is not SyncPeerException and not OperationCanceledException)
            {
                throw new InvalidOperationException($"A node operation failed unexpectedly: {ex}", ex);
            }
        }
    }

    /// <summary>Ends every fault, lets in-flight work finish, then runs anti-entropy rounds until every root is equal.</summary>
    private int Heal()
    {
        Note("heal: faults off");
        _network.HealPartitions();
        _network.DropRate = 0;
        _network.AnswerLossRate = 0;
        _network.DuplicateRate = 0;
        for (int i = 0; i < _nodes.Length; i++)
        {
            if (_nodes[i] is null)
            {
                StartNode(i);
            }
        }

        AwaitPoolWork();
        Drain(() => _outstanding.All(t => t.IsCompleted));
        CollectOutstanding();

        for (int round = 1; round <= MaxHealRounds; round++)
        {
            for (int i = 0; i < _nodes.Length; i++)
            {
                foreach (ISyncPeer peer in _peers[i])
                {
                    Task<SyncPassResult> pass = _nodes[i]!.SyncWithPeerAsync(peer).AsTask();
                    AwaitPoolWork();
                    Drain(() => pass.IsCompleted);
                    pass.GetAwaiter().GetResult();
                }
            }

            AssertionHash root = _nodes[0]!.Root;
            if (_nodes.All(n => n!.Root == root))
            {
                return round;
            }
        }

        return MaxHealRounds;
    }

    private void Drain(Func<bool> done)
    {
        for (int guard = 0; !done(); guard++)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (guard > 1_000_000)
            {
                throw new InvalidOperationException("The simulation did not quiesce after healing.");
            }

            bool delivered = Complete(_network.DeliverNextAsync());
            AwaitPoolWork();
            if (!delivered && !Settled(done))
            {
                _time.Advance(TimeSpan.FromSeconds(1));
                AwaitPoolWork();
            }
        }
    }

    /// <summary>
    /// Before the clock moves: true when a call waits to be delivered or the operation finished, so the clock need not
    /// move. Every step already waited for the run's pool work (<see cref="AwaitPoolWork"/>), so this looks at settled state.
    /// </summary>
    private bool Settled(Func<bool> done) => _network.PendingCount > 0 || done();

    /// <summary>
    /// Waits until no work of this run is left on the thread pool: no work item queued (the pool's whole queue, which
    /// counts other code's items too, so this may wait longer than needed but never less) and no pool thread running in
    /// this run's execution context. It waits by spinning, for as long as it takes, never by time: a loaded machine only
    /// makes it wait longer. Then it closes the short window between a worker taking an item from the queue and entering
    /// the item's context, by waiting for the pool's busy workers to fall back to the run's baseline; a worker that stays
    /// busy there through many spins is some other code's (this run's items are short), and becomes the baseline.
    /// </summary>
    private void AwaitPoolWork()
    {
        var spin = new SpinWait();
        while (true)
        {
            while (ThreadPool.PendingWorkItemCount > 0 || Volatile.Read(ref _poolThreadsInRun) > 0)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                spin.SpinOnce();
            }

            int busySpins = 0;
            while (BusyWorkers() > _baselineBusyWorkers && busySpins < 1_000 && ThreadPool.PendingWorkItemCount == 0
                && Volatile.Read(ref _poolThreadsInRun) == 0)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                Thread.Yield();
                busySpins++;
            }

            if (ThreadPool.PendingWorkItemCount > 0 || Volatile.Read(ref _poolThreadsInRun) > 0)
            {
                continue; // a worker entered this run's work after all: wait for it
            }

            if (busySpins == 1_000)
            {
                _baselineBusyWorkers = BusyWorkers();
            }

            return;
        }
    }

    /// <summary>Counts the pool threads that enter and leave this run's execution context (<see cref="_runContext"/>).</summary>
    private void OnRunContextChanged(AsyncLocalValueChangedArgs<SyncSimulation?> change)
    {
        if (!change.ThreadContextChanged || Environment.CurrentManagedThreadId == _simulationThread)
        {
            return;
        }

        if (ReferenceEquals(change.CurrentValue, this))
        {
            Interlocked.Increment(ref _poolThreadsInRun);
        }
        else if (ReferenceEquals(change.PreviousValue, this))
        {
            Interlocked.Decrement(ref _poolThreadsInRun);
        }
    }

    /// <summary>Worker threads of the thread pool running a work item now.</summary>
    private static int BusyWorkers()
    {
        ThreadPool.GetMaxThreads(out int max, out _);
        ThreadPool.GetAvailableThreads(out int available, out _);
        return max - available;
    }
}

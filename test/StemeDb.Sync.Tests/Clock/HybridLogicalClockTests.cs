using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StemeDb.Sync.Tests.Clock;

[TestFixture]
public class HybridLogicalClockTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    private static readonly NodeId Self = NodeId.Parse("00000000000000000000000000000001");
    private static readonly NodeId Other = NodeId.Parse("00000000000000000000000000000002");

    private static (HybridLogicalClock Clock, FakeTimeProvider Time) Create(TimeSpan? drift = null)
    {
        var time = new FakeTimeProvider(Start);
        return (new HybridLogicalClock(Self, time, drift), time);
    }

    [Test]
    public void Now_WallClockAdvances_UsesWallTimeAndResetsCounter()
    {
        var (clock, time) = Create();

        HlcTimestamp first = clock.Now();
        time.Advance(TimeSpan.FromMilliseconds(5));
        HlcTimestamp second = clock.Now();

        Assert.That(first, Is.EqualTo(new HlcTimestamp(1_700_000_000_000, 0, Self)));
        Assert.That(second, Is.EqualTo(new HlcTimestamp(1_700_000_000_005, 0, Self)));
    }

    [Test]
    public void Now_SameMillisecond_IncrementsCounter()
    {
        var (clock, _) = Create();

        HlcTimestamp a = clock.Now();
        HlcTimestamp b = clock.Now();
        HlcTimestamp c = clock.Now();

        Assert.That(new[] { a.Counter, b.Counter, c.Counter }, Is.EqualTo(new uint[] { 0, 1, 2 }));
        Assert.That(a.Time, Is.EqualTo(c.Time));
    }

    [Test]
    public void Now_WallClockStepsBackwards_StaysStrictlyMonotonic()
    {
        var time = new SteppingTimeProvider(Start);
        var clock = new HybridLogicalClock(Self, time);
        HlcTimestamp before = clock.Now();

        time.Now = Start - TimeSpan.FromMinutes(10);
        HlcTimestamp after1 = clock.Now();
        HlcTimestamp after2 = clock.Now();

        Assert.That(after1, Is.GreaterThan(before));
        Assert.That(after2, Is.GreaterThan(after1));
        Assert.That(after1.Time, Is.EqualTo(before.Time));
    }

    [Test]
    public void Observe_RemoteAhead_TakesRemoteTimeAndCounterPlusOne()
    {
        var (clock, _) = Create();
        clock.Now();
        var remote = new HlcTimestamp(1_700_000_000_200, 7, Other);

        HlcTimestamp merged = Observe(clock, remote);

        Assert.That(merged, Is.EqualTo(new HlcTimestamp(1_700_000_000_200, 8, Self)));
        Assert.That(merged, Is.GreaterThan(remote));
    }

    [Test]
    public void Observe_SamePhysicalTime_TakesMaxCounterPlusOne()
    {
        var (clock, _) = Create();
        clock.Now();
        clock.Now(); // local counter 1 at Start

        HlcTimestamp merged = Observe(clock, new HlcTimestamp(1_700_000_000_000, 5, Other));

        Assert.That(merged, Is.EqualTo(new HlcTimestamp(1_700_000_000_000, 6, Self)));
    }

    [Test]
    public void Observe_RemoteBehind_TicksLocal()
    {
        var (clock, time) = Create();
        time.Advance(TimeSpan.FromSeconds(1));
        HlcTimestamp local = clock.Now();

        HlcTimestamp merged = Observe(clock, new HlcTimestamp(1_600_000_000_000, 99, Other));

        Assert.That(merged, Is.EqualTo(new HlcTimestamp(local.Time, local.Counter + 1, Self)));
    }

    [Test]
    public void Observe_WallAheadOfBoth_UsesWallTime()
    {
        var (clock, time) = Create();
        clock.Now();
        time.Advance(TimeSpan.FromSeconds(2));

        HlcTimestamp merged = Observe(clock, new HlcTimestamp(1_700_000_000_001, 3, Other));

        Assert.That(merged, Is.EqualTo(new HlcTimestamp(1_700_000_002_000, 0, Self)));
    }

    [Test]
    public void TryObserve_TooFarAhead_RefusesAndLeavesClockUnchanged()
    {
        var (clock, _) = Create(TimeSpan.FromMilliseconds(500));
        HlcTimestamp before = clock.Now();
        var remote = new HlcTimestamp(1_700_000_000_501, 0, Other);

        Assert.That(clock.TryObserve(remote, out HlcTimestamp refused), Is.False);
        Assert.That(refused, Is.EqualTo(default(HlcTimestamp)));
        Assert.That(clock.Current, Is.EqualTo(before));
        Assert.That(clock.IsWithinDrift(remote), Is.False);
    }

    [Test]
    public void Observe_ExactlyAtDriftBound_IsAccepted()
    {
        var (clock, _) = Create(TimeSpan.FromMilliseconds(500));

        HlcTimestamp merged = Observe(clock, new HlcTimestamp(1_700_000_000_500, 0, Other));

        Assert.That(merged.Time, Is.EqualTo(1_700_000_000_500));
        Assert.That(clock.IsWithinDrift(new HlcTimestamp(1_700_000_000_500, 0, Other)), Is.True);
        Assert.That(clock.IsWithinDrift(new HlcTimestamp(1_700_000_000_501, 0, Other)), Is.False);
    }

    [Test]
    public void DefaultMaxForwardDrift_Is500Milliseconds()
    {
        var clock = new HybridLogicalClock(Self);

        Assert.That(clock.MaxForwardDrift, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        Assert.That(HybridLogicalClock.DefaultMaxForwardDrift, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
    }

    [Test]
    public void Constructor_NegativeDrift_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new HybridLogicalClock(Self, null, TimeSpan.FromMilliseconds(-1)));
    }

    [Test]
    public void CounterOverflow_AdvancesPhysicalTimeAndStaysMonotonic()
    {
        var (clock, _) = Create();
        HlcTimestamp merged = Observe(clock, new HlcTimestamp(1_700_000_000_000, uint.MaxValue - 1, Other));
        Assert.That(merged.Counter, Is.EqualTo(uint.MaxValue));

        HlcTimestamp next = clock.Now();
        HlcTimestamp after = clock.Now();

        Assert.That(next, Is.EqualTo(new HlcTimestamp(1_700_000_000_001, 0, Self)));
        Assert.That(next, Is.GreaterThan(merged));
        Assert.That(after, Is.GreaterThan(next));
    }

    [Test]
    public void Observe_RemoteCounterAtMax_StaysMonotonic()
    {
        var (clock, _) = Create();
        var remote = new HlcTimestamp(1_700_000_000_000, uint.MaxValue, Other);

        HlcTimestamp merged = Observe(clock, remote);

        Assert.That(merged, Is.GreaterThan(remote));
        Assert.That(merged, Is.EqualTo(new HlcTimestamp(1_700_000_000_001, 0, Self)));
    }

    [Test]
    public async Task ConcurrentNowAndObserve_AllTimestampsUniqueAndPerThreadMonotonic()
    {
        var (clock, time) = Create(TimeSpan.FromSeconds(10));
        const int Threads = 8;
        const int PerThread = 20_000;
        var all = new ConcurrentBag<HlcTimestamp>();
        var violations = 0;

        Task[] tasks = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            HlcTimestamp last = default;
            var mine = new List<HlcTimestamp>(PerThread);
            for (int i = 0; i < PerThread; i++)
            {
                HlcTimestamp ts = (i % 5) switch
                {
                    0 => Observe(clock, new HlcTimestamp(1_700_000_000_000 + (ulong)(i % 50), (uint)i, Other)),
                    1 when t == 0 => Advance(time, clock),
                    _ => clock.Now(),
                };
                if (ts <= last)
                {
                    Interlocked.Increment(ref violations);
                }

                last = ts;
                mine.Add(ts);
            }

            foreach (HlcTimestamp ts in mine)
            {
                all.Add(ts);
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        Assert.That(violations, Is.Zero);
        Assert.That(all.Distinct().Count(), Is.EqualTo(Threads * PerThread));
    }

    private static HlcTimestamp Advance(FakeTimeProvider time, HybridLogicalClock clock)
    {
        time.Advance(TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 4));
        return clock.Now();
    }

    [Test]
    public void Ordering_ByTimeThenCounterThenNode()
    {
        var a = new HlcTimestamp(1, 5, Other);
        var b = new HlcTimestamp(2, 0, Self);
        var c = new HlcTimestamp(2, 1, Self);
        var d = new HlcTimestamp(2, 1, Other);

        Assert.That(new[] { d, c, b, a }.Order().ToArray(), Is.EqualTo(new[] { a, b, c, d }));
    }

    /// <summary>Wall time that can step backwards, which FakeTimeProvider refuses.</summary>
    private sealed class SteppingTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>Merges a timestamp the test expects to be accepted.</summary>
    private static HlcTimestamp Observe(HybridLogicalClock clock, HlcTimestamp remote)
    {
        if (!clock.TryObserve(remote, out HlcTimestamp merged))
        {
            throw new AssertionException($"{remote} was refused as too far ahead.");
        }

        return merged;
    }
}

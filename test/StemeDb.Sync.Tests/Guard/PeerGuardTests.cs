using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StemeDb.Sync.Tests.Guard;

[TestFixture]
public sealed class PeerGuardTests
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Test]
    public void Enter_UpToMaxConcurrentCalls_AdmittedThenRefused()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 3 }, _time);
        var leases = new List<PeerGuardLease>();
        for (int i = 0; i < 3; i++)
        {
            leases.Add(guard.Enter("a", 10));
        }

        using PeerGuardLease fourth = guard.Enter("a", 10);

        Assert.Multiple(() =>
        {
            Assert.That(leases.TrueForAll(l => l.IsAdmitted), Is.True);
            Assert.That(fourth.IsAdmitted, Is.False);
            Assert.That(fourth.Refusal, Is.EqualTo(PeerGuardRefusal.TooManyConcurrentCalls));
        });
        leases.ForEach(l => l.Dispose());
    }

    [Test]
    public void Enter_AfterLeaseDisposed_AdmittedAgain()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 }, _time);
        PeerGuardLease first = guard.Enter("a", 1);
        bool refusedWhileHeld = !guard.Enter("a", 1).IsAdmitted;

        first.Dispose();
        first.Dispose(); // idempotent: must not free a second slot
        using PeerGuardLease second = guard.Enter("a", 1);
        using PeerGuardLease third = guard.Enter("a", 1);

        Assert.Multiple(() =>
        {
            Assert.That(refusedWhileHeld, Is.True);
            Assert.That(second.IsAdmitted, Is.True);
            Assert.That(third.Refusal, Is.EqualTo(PeerGuardRefusal.TooManyConcurrentCalls));
        });
    }

    [Test]
    public void Enter_OnePeerAtLimit_OtherPeersUnaffected()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 }, _time);
        using PeerGuardLease a = guard.Enter("a", 1);

        using PeerGuardLease a2 = guard.Enter("a", 1);
        using PeerGuardLease b = guard.Enter("b", 1);

        Assert.Multiple(() =>
        {
            Assert.That(a2.IsAdmitted, Is.False);
            Assert.That(b.IsAdmitted, Is.True);
        });
    }

    [Test]
    public void Enter_BytesOverLimit_RefusedUntilReleased()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxBytesInFlightPerPeer = 100 }, _time);
        PeerGuardLease first = guard.Enter("a", 60);
        using PeerGuardLease overLimit = guard.Enter("a", 41);
        using PeerGuardLease exactFit = guard.Enter("a", 40);
        first.Dispose();
        exactFit.Dispose();
        using PeerGuardLease afterRelease = guard.Enter("a", 100);

        Assert.Multiple(() =>
        {
            Assert.That(overLimit.Refusal, Is.EqualTo(PeerGuardRefusal.TooManyBytesInFlight));
            Assert.That(exactFit.IsAdmitted, Is.True);
            Assert.That(afterRelease.IsAdmitted, Is.True);
        });
    }

    [Test]
    public void Enter_SingleRequestLargerThanLimit_AlwaysRefused()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxBytesInFlightPerPeer = 100 }, _time);

        using PeerGuardLease lease = guard.Enter("a", 101);

        Assert.That(lease.Refusal, Is.EqualTo(PeerGuardRefusal.TooManyBytesInFlight));
    }

    [Test]
    public void RecordRejection_OverLimitInWindow_PeerRefusedForRefusalDuration()
    {
        var guard = new PeerGuard(
            new PeerGuardOptions { MaxRejectionsPerWindow = 3, RejectionWindow = TimeSpan.FromSeconds(10), RefusalDuration = TimeSpan.FromSeconds(30) },
            _time);
        bool[] tripped = new bool[4];
        for (int i = 0; i < 4; i++)
        {
            tripped[i] = guard.RecordRejection("a");
        }

        using PeerGuardLease refused = guard.Enter("a", 1);
        using PeerGuardLease other = guard.Enter("b", 1);
        _time.Advance(TimeSpan.FromSeconds(29));
        bool stillRefused = guard.IsRefused("a", out TimeSpan remaining);
        _time.Advance(TimeSpan.FromSeconds(1));
        using PeerGuardLease afterRefusal = guard.Enter("a", 1);

        Assert.Multiple(() =>
        {
            Assert.That(tripped, Is.EqualTo(new[] { false, false, false, true }));
            Assert.That(refused.Refusal, Is.EqualTo(PeerGuardRefusal.TooManyRejections));
            Assert.That(refused.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(other.IsAdmitted, Is.True);
            Assert.That(stillRefused, Is.True);
            Assert.That(remaining, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(afterRefusal.IsAdmitted, Is.True);
        });
    }

    [Test]
    public void RecordRejection_SpreadOverWindows_NeverRefused()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 3, RejectionWindow = TimeSpan.FromSeconds(10) }, _time);
        bool anyTripped = false;

        for (int i = 0; i < 30; i++)
        {
            anyTripped |= guard.RecordRejection("a");
            _time.Advance(TimeSpan.FromSeconds(4)); // at most 3 per 10 s window
        }

        using PeerGuardLease lease = guard.Enter("a", 1);
        Assert.Multiple(() =>
        {
            Assert.That(anyTripped, Is.False);
            Assert.That(lease.IsAdmitted, Is.True);
        });
    }

    [Test]
    public void RecordRejection_ThroughLease_CountsAgainstLeasePeer()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 0 }, _time);
        bool tripped;
        using (PeerGuardLease lease = guard.Enter("a", 1))
        {
            tripped = lease.RecordRejection();
        }

        Assert.Multiple(() =>
        {
            Assert.That(tripped, Is.True);
            Assert.That(guard.IsRefused("a", out _), Is.True);
            Assert.That(guard.IsRefused("b", out _), Is.False);
        });
    }

    [Test]
    public void RecordRejection_OnRefusedLease_Throws()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 }, _time);
        using PeerGuardLease held = guard.Enter("a", 1);
        using PeerGuardLease refused = guard.Enter("a", 1);

        Assert.That(() => refused.RecordRejection(), Throws.InvalidOperationException);
    }

    [Test]
    public void Enter_ManyIdlePeers_TableStaysBounded()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxTrackedPeers = 100 }, _time);

        for (int i = 0; i < 10_000; i++)
        {
            guard.Enter("peer-" + i, 1).Dispose();
        }

        Assert.That(guard.TrackedPeerCount, Is.LessThanOrEqualTo(101));
    }

    [Test]
    public void Enter_RefusedPeerAmongManyIdle_IsNotForgotten()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxTrackedPeers = 10, MaxRejectionsPerWindow = 0 }, _time);
        guard.RecordRejection("bad");

        for (int i = 0; i < 1000; i++)
        {
            guard.Enter("peer-" + i, 1).Dispose();
        }

        using PeerGuardLease lease = guard.Enter("bad", 1);
        Assert.That(lease.Refusal, Is.EqualTo(PeerGuardRefusal.TooManyRejections));
    }

    [Test]
    public async Task Enter_ConcurrentCallers_NeverMoreThanLimitInFlight()
    {
        const int limit = 4;
        var guard = new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = limit, MaxBytesInFlightPerPeer = 1000 });
        int inFlight = 0, maxSeen = 0, admitted = 0;

        Task[] workers = new Task[8];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(() =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    using PeerGuardLease lease = guard.Enter("a", 100);
                    if (!lease.IsAdmitted)
                    {
                        continue;
                    }

                    Interlocked.Increment(ref admitted);
                    int now = Interlocked.Increment(ref inFlight);
                    int seen;
                    while (now > (seen = Volatile.Read(ref maxSeen)) && Interlocked.CompareExchange(ref maxSeen, now, seen) != seen)
                    {
                    }

                    Interlocked.Decrement(ref inFlight);
                }
            });
        }

        await Task.WhenAll(workers);
        var final = new List<PeerGuardLease>();
        for (int i = 0; i < limit; i++)
        {
            final.Add(guard.Enter("a", 100));
        }

        Assert.Multiple(() =>
        {
            Assert.That(maxSeen, Is.InRange(1, limit));
            Assert.That(admitted, Is.GreaterThan(0));
            Assert.That(final.TrueForAll(l => l.IsAdmitted), Is.True, "every slot and byte was released");
        });
        final.ForEach(l => l.Dispose());
    }

    [TestCase(0, 1L, 10)]
    [TestCase(1, 0L, 10)]
    [TestCase(1, 1L, -1)]
    public void Constructor_OptionOutOfRange_ThrowsNamingIt(int calls, long bytes, int rejections)
    {
        var options = new PeerGuardOptions { MaxConcurrentCallsPerPeer = calls, MaxBytesInFlightPerPeer = bytes, MaxRejectionsPerWindow = rejections };

        Assert.That(() => new PeerGuard(options), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("PeerGuardOptions."));
    }

    [Test]
    public void Enter_EmptyPeerOrNegativeBytes_Throws()
    {
        var guard = new PeerGuard();

        Assert.Multiple(() =>
        {
            Assert.That(() => guard.Enter("", 1), Throws.ArgumentException);
            Assert.That(() => guard.Enter("a", -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        });
    }
}

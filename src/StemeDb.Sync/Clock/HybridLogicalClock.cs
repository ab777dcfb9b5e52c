using System;

namespace StemeDb.Sync;

/// <summary>
/// A hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014): timestamps that stay
/// close to wall time, never go backwards, and order causally related events across nodes.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Now"/> stamps local and send events; <see cref="TryObserve"/> merges a received timestamp. Both are
/// strictly monotonic: each result is greater than every timestamp this clock issued before, even when the
/// wall clock steps backwards. When the logical counter would overflow, the physical component is advanced by
/// one millisecond instead, which keeps monotonicity at the cost of running one millisecond ahead of wall time.
/// </para>
/// <para>
/// A remote timestamp more than <see cref="MaxForwardDrift"/> ahead of local wall time is refused
/// (<see langword="false"/> from <see cref="TryObserve"/>) and leaves the
/// clock unchanged, so that one peer with a bad clock cannot drag every node into the future. The default
/// bound is <see cref="DefaultMaxForwardDrift"/> (500 ms, as in CockroachDB).
/// </para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed class HybridLogicalClock
{
    /// <summary>The default bound on how far a remote timestamp may be ahead of local wall time: 500 ms.</summary>
    internal static readonly TimeSpan DefaultMaxForwardDrift = TimeSpan.FromMilliseconds(500);

    private readonly TimeProvider _timeProvider;
    private readonly ulong _maxDriftMs;
    private readonly object _gate = new();
    private ulong _time;
    private uint _counter;

    /// <summary>Creates a clock for a node.</summary>
    /// <param name="nodeId">The node whose id every timestamp carries.</param>
    /// <param name="timeProvider">Wall time; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="maxForwardDrift">Bound for <see cref="TryObserve"/>; <see cref="DefaultMaxForwardDrift"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxForwardDrift"/> is negative.</exception>
    public HybridLogicalClock(NodeId nodeId, TimeProvider? timeProvider = null, TimeSpan? maxForwardDrift = null)
    {
        TimeSpan drift = maxForwardDrift ?? DefaultMaxForwardDrift;
        if (drift < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(maxForwardDrift), drift, "The maximum forward drift must not be negative.");
        }

        NodeId = nodeId;
        MaxForwardDrift = drift;
        _maxDriftMs = (ulong)drift.Ticks / TimeSpan.TicksPerMillisecond;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The node id carried by every timestamp of this clock.</summary>
    public NodeId NodeId { get; }

    /// <summary>How far ahead of local wall time a remote timestamp may be.</summary>
    internal TimeSpan MaxForwardDrift { get; }

    /// <summary>The last timestamp issued (time 0, counter 0 before the first event).</summary>
    public HlcTimestamp Current
    {
        get
        {
            lock (_gate)
            {
                return new HlcTimestamp(_time, _counter, NodeId);
            }
        }
    }

    /// <summary>Issues a timestamp for a local or send event.</summary>
    /// <returns>A timestamp greater than every one issued before by this clock.</returns>
    public HlcTimestamp Now()
    {
        ulong wall = WallMilliseconds();
        lock (_gate)
        {
            if (wall > _time)
            {
                _time = wall;
                _counter = 0;
            }
            else
            {
                Tick();
            }

            return new HlcTimestamp(_time, _counter, NodeId);
        }
    }

    /// <summary>Merges a received timestamp unless it is too far ahead of wall time.</summary>
    /// <param name="remote">The received timestamp.</param>
    /// <param name="timestamp">The merged timestamp, when accepted.</param>
    /// <returns><see langword="false"/> if <paramref name="remote"/> was refused; the clock is then unchanged.</returns>
    public bool TryObserve(HlcTimestamp remote, out HlcTimestamp timestamp)
    {
        ulong wall = WallMilliseconds();
        if (!IsWithinDrift(remote, wall))
        {
            timestamp = default;
            return false;
        }

        lock (_gate)
        {
            ulong previous = _time;
            ulong next = Math.Max(Math.Max(previous, remote.Time), wall);
            if (next == previous && next == remote.Time)
            {
                _counter = Math.Max(_counter, remote.Counter);
                Tick();
            }
            else if (next == previous)
            {
                Tick();
            }
            else if (next == remote.Time)
            {
                _time = next;
                _counter = remote.Counter;
                Tick();
            }
            else
            {
                _time = next;
                _counter = 0;
            }

            timestamp = new HlcTimestamp(_time, _counter, NodeId);
            return true;
        }
    }

    /// <summary>Returns whether <paramref name="remote"/> is within <see cref="MaxForwardDrift"/> of local wall time.</summary>
    /// <param name="remote">A received timestamp.</param>
    /// <returns><see langword="true"/> if it is not too far ahead.</returns>
    public bool IsWithinDrift(HlcTimestamp remote) => IsWithinDrift(remote, WallMilliseconds());

    private bool IsWithinDrift(HlcTimestamp remote, ulong wall) =>
        remote.Time <= wall || remote.Time - wall <= _maxDriftMs;

    // Advances the logical counter; on overflow moves the physical component forward instead.
    private void Tick()
    {
        if (_counter == uint.MaxValue)
        {
            if (_time == ulong.MaxValue)
            {
                throw new InvalidOperationException("The hybrid logical clock cannot advance past the largest representable time.");
            }

            _time++;
            _counter = 0;
        }
        else
        {
            _counter++;
        }
    }

    private ulong WallMilliseconds()
    {
        long ms = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        return ms < 0 ? 0 : (ulong)ms;
    }
}

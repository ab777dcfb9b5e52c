using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace StemeDb.Sync;

/// <summary>
/// Per-peer admission control for a serving node: bounds each peer's calls in flight, request bytes in flight,
/// rate of rejected requests and rate of work (answer bytes and reconciliation walks), and each network source's
/// failed authentications (<see cref="PeerGuardOptions"/>), so one misbehaving peer cannot exhaust the node while the
/// others keep being served. Give one to a <see cref="SyncServer"/> (<c>AddStemeDbSync</c> registers one with the
/// default limits): the server authenticates each call first, then admits it by the caller's authenticated identity,
/// and counts its rejected requests and its work. A refusal is <see cref="SyncStatusCode.ResourceExhausted"/>.
/// </summary>
/// <remarks>
/// Thread-safe. Refusals are immediate, never queued: a refused caller learns it at once and may retry later.
/// Time comes from the given <see cref="TimeProvider"/>, so tests can run on fake time.
/// </remarks>
public sealed class PeerGuard
{
    private readonly PeerGuardOptions _options;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly ConcurrentDictionary<string, PeerState> _peers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PeerState> _sources = new(StringComparer.Ordinal);
    private int _sweeping;

    /// <summary>Creates a guard.</summary>
    /// <param name="options">The limits, copied and validated; the defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for rejection windows and refusals; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public PeerGuard(PeerGuardOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = (options ?? new PeerGuardOptions()).ValidatedCopy();
        _time = timeProvider ?? TimeProvider.System;
        _start = _time.GetTimestamp();
    }

    /// <summary>The number of peers currently tracked (at most about <see cref="PeerGuardOptions.MaxTrackedPeers"/> plus those with calls in flight).</summary>
    public int TrackedPeerCount => _peers.Count;

    /// <summary>
    /// Asks to start a call from <paramref name="peer"/> carrying <paramref name="requestBytes"/> bytes.
    /// </summary>
    /// <param name="peer">The peer's identity (non-empty; compared ordinally).</param>
    /// <param name="requestBytes">The size of the request, counted against the peer's bytes in flight (not negative).</param>
    /// <returns>
    /// A lease: if <see cref="PeerGuardLease.IsAdmitted"/>, run the call and dispose the lease when it ends (that releases
    /// the call and its bytes); otherwise refuse the call with <see cref="PeerGuardLease.Refusal"/>. Disposing a refused
    /// lease does nothing.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="peer"/> is null or empty, or <paramref name="requestBytes"/> is negative.</exception>
    internal PeerGuardLease Enter(string peer, long requestBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        ArgumentOutOfRangeException.ThrowIfNegative(requestBytes);

        TimeSpan now = Now();
        while (true)
        {
            PeerState state = GetOrAdd(_peers, peer, now);
            lock (state)
            {
                if (state.Removed)
                {
                    continue; // forgotten by a sweep between lookup and lock: look it up again
                }

                state.LastSeen = now;
                if (now < state.RefusedUntil)
                {
                    return PeerGuardLease.Refused(peer, PeerGuardRefusal.TooManyRejections, state.RefusedUntil - now);
                }

                double work = state.RefillWork(now, _options.MaxWorkBytesPerSecondPerPeer);
                if (work < 0)
                {
                    return PeerGuardLease.Refused(peer, PeerGuardRefusal.TooMuchWork, WorkDelay(-work));
                }

                if (state.Calls >= _options.MaxConcurrentCallsPerPeer)
                {
                    return PeerGuardLease.Refused(peer, PeerGuardRefusal.TooManyConcurrentCalls, TimeSpan.Zero);
                }

                if (requestBytes > _options.MaxBytesInFlightPerPeer - state.Bytes)
                {
                    return PeerGuardLease.Refused(peer, PeerGuardRefusal.TooManyBytesInFlight, TimeSpan.Zero);
                }

                state.Calls++;
                state.Bytes += requestBytes;
                return new PeerGuardLease(this, state, peer, requestBytes);
            }
        }
    }

    /// <summary>
    /// Counts a rejected request from <paramref name="peer"/> (an invalid push or request). Going over
    /// <see cref="PeerGuardOptions.MaxRejectionsPerWindow"/> within <see cref="PeerGuardOptions.RejectionWindow"/>
    /// refuses the peer's calls for <see cref="PeerGuardOptions.RefusalDuration"/>.
    /// </summary>
    /// <param name="peer">The peer's identity.</param>
    /// <returns><see langword="true"/> if this rejection made the guard refuse the peer.</returns>
    /// <exception cref="ArgumentException"><paramref name="peer"/> is null or empty.</exception>
    internal bool RecordRejection(string peer)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        TimeSpan now = Now();
        while (true)
        {
            PeerState state = GetOrAdd(_peers, peer, now);
            lock (state)
            {
                if (state.Removed)
                {
                    continue;
                }

                return RecordRejection(state, now, _options.MaxRejectionsPerWindow);
            }
        }
    }

    /// <summary>Whether calls from <paramref name="peer"/> are refused now for too many rejections, and for how much longer.</summary>
    /// <param name="peer">The peer's identity.</param>
    /// <param name="remaining">How much longer the refusal lasts; zero when not refused.</param>
    /// <returns><see langword="true"/> if the peer is refused.</returns>
    internal bool IsRefused(string peer, out TimeSpan remaining)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        remaining = TimeSpan.Zero;
        if (!_peers.TryGetValue(peer, out PeerState? state))
        {
            return false;
        }

        TimeSpan now = Now();
        lock (state)
        {
            if (state.Removed || now >= state.RefusedUntil)
            {
                return false;
            }

            remaining = state.RefusedUntil - now;
            return true;
        }
    }

    internal void Release(PeerState state, long requestBytes)
    {
        lock (state)
        {
            state.Calls--;
            state.Bytes -= requestBytes;
        }
    }

    internal bool RecordRejection(PeerState state)
    {
        TimeSpan now = Now();
        lock (state)
        {
            return RecordRejection(state, now, _options.MaxRejectionsPerWindow);
        }
    }

    /// <summary>
    /// Counts a failed authentication from a network source (see <see cref="SyncCaller.Source"/>) in the source's own
    /// budget, which no authenticated peer shares.
    /// </summary>
    /// <returns><see cref="PeerGuardRefusal.TooManyAuthenticationFailures"/> when the source is over its budget (this failure
    /// included), otherwise <see cref="PeerGuardRefusal.None"/>.</returns>
    internal PeerGuardRefusal RecordAuthenticationFailure(string source, out TimeSpan retryAfter)
    {
        TimeSpan now = Now();
        while (true)
        {
            PeerState state = GetOrAdd(_sources, source, now);
            lock (state)
            {
                if (state.Removed)
                {
                    continue;
                }

                if (now < state.RefusedUntil || RecordRejection(state, now, _options.MaxAuthenticationFailuresPerWindow))
                {
                    retryAfter = state.RefusedUntil - now;
                    return PeerGuardRefusal.TooManyAuthenticationFailures;
                }

                retryAfter = TimeSpan.Zero;
                return PeerGuardRefusal.None;
            }
        }
    }

    /// <summary>Takes <paramref name="bytes"/> of work from the lease's peer; returns how long the peer is now in debt (zero when not).</summary>
    internal TimeSpan ChargeWork(PeerState state, long bytes)
    {
        TimeSpan now = Now();
        lock (state)
        {
            double work = state.RefillWork(now, _options.MaxWorkBytesPerSecondPerPeer) - bytes;
            state.Work = work;
            return work < 0 ? WorkDelay(-work) : TimeSpan.Zero;
        }
    }

    /// <summary>The clock the guard's windows and work budget run on.</summary>
    internal TimeProvider Time => _time;

    private TimeSpan WorkDelay(double debt) =>
        TimeSpan.FromSeconds(Math.Max(debt / _options.MaxWorkBytesPerSecondPerPeer, 0.001));

    // Caller holds the state's lock.
    private bool RecordRejection(PeerState state, TimeSpan now, int maxPerWindow)
    {
        state.LastSeen = now;
        if (now < state.RefusedUntil)
        {
            return false; // already refused
        }

        if (now - state.WindowStart >= _options.RejectionWindow)
        {
            state.WindowStart = now;
            state.WindowRejections = 0;
        }

        state.WindowRejections++;
        if (state.WindowRejections <= maxPerWindow)
        {
            return false;
        }

        state.RefusedUntil = now + _options.RefusalDuration;
        state.WindowRejections = 0;
        state.WindowStart = state.RefusedUntil;
        return true;
    }

    private PeerState GetOrAdd(ConcurrentDictionary<string, PeerState> table, string key, TimeSpan now)
    {
        if (table.TryGetValue(key, out PeerState? existing))
        {
            return existing;
        }

        PeerState state = table.GetOrAdd(key, static (_, a) => new PeerState(a.now, a.work), (now, work: (double)_options.MaxWorkBytesPerSecondPerPeer));
        if (table.Count > _options.MaxTrackedPeers)
        {
            Sweep(table, now);
        }

        return state;
    }

    /// <summary>Forgets idle peers (or sources): no call in flight, not refused, no rejection in the current window, no work debt.</summary>
    private void Sweep(ConcurrentDictionary<string, PeerState> table, TimeSpan now)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            foreach (KeyValuePair<string, PeerState> entry in table)
            {
                PeerState state = entry.Value;
                lock (state)
                {
                    bool rejectionsExpired = state.WindowRejections == 0 || now - state.WindowStart >= _options.RejectionWindow;
                    bool rested = state.RefillWork(now, _options.MaxWorkBytesPerSecondPerPeer) >= _options.MaxWorkBytesPerSecondPerPeer;
                    if (state.Calls == 0 && now >= state.RefusedUntil && rejectionsExpired && rested)
                    {
                        state.Removed = true;
                        table.TryRemove(entry);
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private TimeSpan Now() => _time.GetElapsedTime(_start);

    internal sealed class PeerState
    {
        public PeerState(TimeSpan now, double work)
        {
            WindowStart = now;
            LastSeen = now;
            WorkAt = now;
            Work = work;
        }

        /// <summary>The work budget left, in bytes (negative: in debt); refilled at the configured rate up to one second's worth.</summary>
        public double Work { get; set; }

        public TimeSpan WorkAt { get; set; }

        /// <summary>Refills the work budget up to now; returns it. Caller holds the lock.</summary>
        public double RefillWork(TimeSpan now, long perSecond)
        {
            if (now > WorkAt)
            {
                Work = Math.Min(perSecond, Work + ((now - WorkAt).TotalSeconds * perSecond));
                WorkAt = now;
            }

            return Work;
        }

        public int Calls { get; set; }

        public long Bytes { get; set; }

        public TimeSpan WindowStart { get; set; }

        public int WindowRejections { get; set; }

        public TimeSpan RefusedUntil { get; set; }

        public TimeSpan LastSeen { get; set; }

        public bool Removed { get; set; }
    }
}

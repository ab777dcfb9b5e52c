using System;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync;

/// <summary>
/// The answer of <see cref="PeerGuard.Enter"/>: either an admitted call, to be disposed when the call ends, or a
/// refusal with its reason.
/// </summary>
internal sealed class PeerGuardLease : IDisposable
{
    private readonly PeerGuard? _guard;
    private readonly PeerGuard.PeerState? _state;
    private readonly long _bytes;
    private int _released;

    internal PeerGuardLease(PeerGuard guard, PeerGuard.PeerState state, string peer, long bytes)
    {
        _guard = guard;
        _state = state;
        _bytes = bytes;
        Peer = peer;
    }

    private PeerGuardLease(string peer, PeerGuardRefusal refusal, TimeSpan retryAfter)
    {
        Peer = peer;
        Refusal = refusal;
        RetryAfter = retryAfter;
        _released = 1;
    }

    /// <summary>The peer the lease belongs to.</summary>
    public string Peer { get; }

    /// <summary>Whether the call may run.</summary>
    public bool IsAdmitted => Refusal == PeerGuardRefusal.None;

    /// <summary>Why the call was refused; <see cref="PeerGuardRefusal.None"/> when admitted.</summary>
    public PeerGuardRefusal Refusal { get; }

    /// <summary>For <see cref="PeerGuardRefusal.TooManyRejections"/>, <see cref="PeerGuardRefusal.TooMuchWork"/> and
    /// <see cref="PeerGuardRefusal.TooManyAuthenticationFailures"/>: how long the refusal lasts; otherwise zero.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Counts a rejected request against the lease's peer (see <see cref="PeerGuard.RecordRejection(string)"/>).</summary>
    /// <returns><see langword="true"/> if this rejection made the guard refuse the peer.</returns>
    /// <exception cref="InvalidOperationException">The lease was refused.</exception>
    public bool RecordRejection()
    {
        if (_guard is null || _state is null)
        {
            throw new InvalidOperationException("A refused lease has no call to record a rejection for.");
        }

        return _guard.RecordRejection(_state);
    }

    /// <summary>
    /// Counts work the admitted call caused (answer bytes, or their equivalent) against the peer's
    /// <see cref="PeerGuardOptions.MaxWorkBytesPerSecondPerPeer"/>; a peer in debt has its next calls refused until the
    /// debt is paid.
    /// </summary>
    /// <param name="bytes">The work, in bytes (not negative).</param>
    internal TimeSpan ChargeWork(long bytes) => _guard is null || bytes <= 0 ? TimeSpan.Zero : _guard.ChargeWork(_state!, bytes);

    /// <summary>As <see cref="ChargeWork"/>, then waits until the peer is out of debt: for streams, which slow down rather than fail.</summary>
    internal async ValueTask ChargeWorkAsync(long bytes, CancellationToken cancellationToken)
    {
        TimeSpan debt = ChargeWork(bytes);
        if (debt > TimeSpan.Zero)
        {
            await Task.Delay(debt, _guard!.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the admitted call: releases its slot and bytes. Idempotent; does nothing for a refused lease.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _guard!.Release(_state!, _bytes);
        }
    }

    internal static PeerGuardLease Refused(string peer, PeerGuardRefusal refusal, TimeSpan retryAfter) => new(peer, refusal, retryAfter);
}

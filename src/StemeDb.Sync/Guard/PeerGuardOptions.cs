using System;

namespace StemeDb.Sync;

/// <summary>
/// Limits a <see cref="PeerGuard"/> puts on each peer, so that one misbehaving peer cannot exhaust the node:
/// calls in flight, request bytes in flight, the rate of rejected requests, and the rate of answer bytes and other
/// expensive work; and the failed authentications a network source may cause before its failures are answered
/// <c>RESOURCE_EXHAUSTED</c>.
/// </summary>
/// <remarks>
/// The defaults leave an honest peer (which makes a few calls at a time, each well under the gRPC default
/// 4 MiB message limit, and whose requests are rarely rejected) untouched.
/// </remarks>
public sealed class PeerGuardOptions
{
    /// <summary>The largest accepted <see cref="MaxConcurrentCallsPerPeer"/>.</summary>
    public const int MaxConcurrentCallsLimit = 1_000_000;

    /// <summary>
    /// Calls one peer may have in flight at once; a call beyond this is refused at once
    /// (<see cref="PeerGuardRefusal.TooManyConcurrentCalls"/>). Default 64.
    /// </summary>
    public int MaxConcurrentCallsPerPeer { get; set; } = 64;

    /// <summary>
    /// Request bytes one peer may have in flight at once; a call that would go beyond this is refused
    /// (<see cref="PeerGuardRefusal.TooManyBytesInFlight"/>). A single request larger than this is always refused,
    /// so keep it at least the server's largest accepted message. Default 16 MiB.
    /// </summary>
    public long MaxBytesInFlightPerPeer { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Rejected requests (gossip answered <c>accepted=false</c>, or a request refused as invalid) one peer may
    /// send within <see cref="RejectionWindow"/>; the next rejection refuses the peer for <see cref="RefusalDuration"/>
    /// (<see cref="PeerGuardRefusal.TooManyRejections"/>). Default 100.
    /// </summary>
    public int MaxRejectionsPerWindow { get; set; } = 100;

    /// <summary>The window over which rejections are counted (fixed windows). Default 10 seconds.</summary>
    public TimeSpan RejectionWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a peer that went over <see cref="MaxRejectionsPerWindow"/> is refused. Default 30 seconds.</summary>
    public TimeSpan RefusalDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The work one peer may cause per second, in bytes: the bytes of every answer (fetched assertions, stream chunks,
    /// leaves, reconciliation tables and symbols) and, for a <c>Reconcile</c> round, 32 bytes per assertion the node
    /// holds (the leaves such a round may walk). A peer may go into debt by one answer (each answer is bounded on its
    /// own); while in debt its unary calls are refused (<see cref="PeerGuardRefusal.TooMuchWork"/>) and its streams wait.
    /// The peer may spend up to one second's worth at once. Default 128 MiB.
    /// </summary>
    public long MaxWorkBytesPerSecondPerPeer { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// Failed authentications one network source (an IPv4 address, or an IPv6 /64) may cause within
    /// <see cref="RejectionWindow"/>; beyond them, its failed calls are answered <c>RESOURCE_EXHAUSTED</c> and no longer
    /// logged, for <see cref="RefusalDuration"/>. This budget is the source's own: a caller that authenticates is never
    /// refused by it, from the same address or any other. Default 20.
    /// </summary>
    public int MaxAuthenticationFailuresPerWindow { get; set; } = 20;

    /// <summary>
    /// Peers tracked at once before idle ones (no call in flight, not refused, no recent rejection) are forgotten;
    /// bounds the guard's memory. Default 10,000.
    /// </summary>
    public int MaxTrackedPeers { get; set; } = 10_000;

    internal PeerGuardOptions ValidatedCopy()
    {
        RequireRange(MaxConcurrentCallsPerPeer, 1, MaxConcurrentCallsLimit, nameof(MaxConcurrentCallsPerPeer));
        if (MaxBytesInFlightPerPeer < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxBytesInFlightPerPeer),
                MaxBytesInFlightPerPeer,
                $"PeerGuardOptions.MaxBytesInFlightPerPeer must be at least 1; got {MaxBytesInFlightPerPeer}.");
        }

        RequireRange(MaxRejectionsPerWindow, 0, int.MaxValue - 1, nameof(MaxRejectionsPerWindow));
        RequirePositive(RejectionWindow, nameof(RejectionWindow));
        RequirePositive(RefusalDuration, nameof(RefusalDuration));
        RequireRange(MaxTrackedPeers, 1, 10_000_000, nameof(MaxTrackedPeers));
        RequireRange(MaxAuthenticationFailuresPerWindow, 0, int.MaxValue - 1, nameof(MaxAuthenticationFailuresPerWindow));
        if (MaxWorkBytesPerSecondPerPeer < 1024)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxWorkBytesPerSecondPerPeer),
                MaxWorkBytesPerSecondPerPeer,
                $"PeerGuardOptions.MaxWorkBytesPerSecondPerPeer must be at least 1024; got {MaxWorkBytesPerSecondPerPeer}.");
        }

        return new PeerGuardOptions
        {
            MaxConcurrentCallsPerPeer = MaxConcurrentCallsPerPeer,
            MaxBytesInFlightPerPeer = MaxBytesInFlightPerPeer,
            MaxRejectionsPerWindow = MaxRejectionsPerWindow,
            RejectionWindow = RejectionWindow,
            RefusalDuration = RefusalDuration,
            MaxTrackedPeers = MaxTrackedPeers,
            MaxWorkBytesPerSecondPerPeer = MaxWorkBytesPerSecondPerPeer,
            MaxAuthenticationFailuresPerWindow = MaxAuthenticationFailuresPerWindow,
        };
    }

    private static void RequireRange(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"PeerGuardOptions.{name} must be between {min} and {max}; got {value}.");
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"PeerGuardOptions.{name} must be positive; got {value}.");
        }
    }
}

using System;

namespace StemeDb.Sync;

/// <summary>
/// Limits a <see cref="PeerGuard"/> puts on each peer, so that one misbehaving peer cannot exhaust the node:
/// calls in flight, request bytes in flight, and the rate of rejected requests.
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

        return new PeerGuardOptions
        {
            MaxConcurrentCallsPerPeer = MaxConcurrentCallsPerPeer,
            MaxBytesInFlightPerPeer = MaxBytesInFlightPerPeer,
            MaxRejectionsPerWindow = MaxRejectionsPerWindow,
            RejectionWindow = RejectionWindow,
            RefusalDuration = RefusalDuration,
            MaxTrackedPeers = MaxTrackedPeers,
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

namespace StemeDb.Sync;

/// <summary>Why a <see cref="PeerGuard"/> refused a call.</summary>
internal enum PeerGuardRefusal
{
    /// <summary>Not refused: the call was admitted.</summary>
    None = 0,

    /// <summary>The peer already has <see cref="PeerGuardOptions.MaxConcurrentCallsPerPeer"/> calls in flight.</summary>
    TooManyConcurrentCalls = 1,

    /// <summary>The call would take the peer over <see cref="PeerGuardOptions.MaxBytesInFlightPerPeer"/>.</summary>
    TooManyBytesInFlight = 2,

    /// <summary>The peer sent more than <see cref="PeerGuardOptions.MaxRejectionsPerWindow"/> rejected requests and is refused for a while.</summary>
    TooManyRejections = 3,

    /// <summary>The peer caused more work than <see cref="PeerGuardOptions.MaxWorkBytesPerSecondPerPeer"/> allows and is in debt; retry after <see cref="PeerGuardLease.RetryAfter"/>.</summary>
    TooMuchWork = 4,

    /// <summary>The network source failed authentication more than <see cref="PeerGuardOptions.MaxAuthenticationFailuresPerWindow"/> times; its failed calls are refused for a while.</summary>
    TooManyAuthenticationFailures = 5,
}

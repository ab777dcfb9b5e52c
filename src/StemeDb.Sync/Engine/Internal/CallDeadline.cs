using System;
using System.Threading;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>The token for one call to a peer: cancelled by the caller or when the per-call deadline passes.</summary>
internal sealed class CallDeadline : IDisposable
{
    private readonly CancellationTokenSource _timeout;
    private readonly CancellationTokenSource _linked;

    public CallDeadline(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        _timeout = new CancellationTokenSource(timeout, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token);
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the deadline has passed (the caller's own cancellation is not a timeout).</summary>
    public bool TimedOut(CancellationToken callerToken) => _timeout.IsCancellationRequested && !callerToken.IsCancellationRequested;

    public void Dispose()
    {
        _linked.Dispose();
        _timeout.Dispose();
    }
}

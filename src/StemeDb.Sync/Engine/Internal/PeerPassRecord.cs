using System;
using System.Text;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// What the node remembers of its passes with one peer, for <see cref="SyncNode.GetStatus"/> and the per-peer gauges:
/// whether one runs, how the last one ended, the peer's count and what each side lacks. Written by the pass (one at a
/// time per peer, in practice), read by status snapshots and metric collection on any thread: under a small lock.
/// </summary>
internal sealed class PeerPassRecord
{
    /// <summary>The most characters of a failure's message kept: a peer writes part of it.</summary>
    internal const int MaxErrorLength = 200;

    private readonly object _gate = new();
    private int _running;
    private SyncPeerState _state = SyncPeerState.Unknown;
    private DateTimeOffset? _lastPassAt;
    private TimeSpan? _lastPassDuration;
    private DateTimeOffset? _lastSuccessAt;
    private string? _lastError;
    private long? _remoteCount;
    private long _missing;
    private long _peerMissing;
    private bool _exact;

    /// <summary>A pass starts.</summary>
    public void Started()
    {
        lock (_gate)
        {
            _running++;
        }
    }

    /// <summary>The peer's count, as its root exchange gave it.</summary>
    public void RemoteCountIs(long remoteCount)
    {
        lock (_gate)
        {
            _remoteCount = remoteCount;
        }
    }

    /// <summary>
    /// A pass ended well: <paramref name="missing"/> and <paramref name="peerMissing"/> are what it left on each side, exact
    /// when <paramref name="exact"/> (a complete comparison), otherwise a lower bound the counts may raise.
    /// </summary>
    public void Succeeded(DateTimeOffset at, TimeSpan duration, long missing, long peerMissing, bool exact)
    {
        lock (_gate)
        {
            _running = Math.Max(0, _running - 1);
            _lastPassAt = at;
            _lastPassDuration = duration;
            _lastSuccessAt = at;
            _lastError = null;
            _missing = Math.Max(0, missing);
            _peerMissing = Math.Max(0, peerMissing);
            _exact = exact;
            _state = SyncPeerState.InSync; // or Behind/PeerBehind: decided by what is missing when a snapshot is taken
        }
    }

    /// <summary>A pass failed (or was cancelled by its deadline).</summary>
    public void Failed(DateTimeOffset at, TimeSpan duration, Exception error)
    {
        SyncStatusCode? code = (error as SyncPeerException)?.Code;
        lock (_gate)
        {
            _running = Math.Max(0, _running - 1);
            _lastPassAt = at;
            _lastPassDuration = duration;
            _lastError = Describe(code, error.Message);
            _exact = false;
            _state = code is SyncStatusCode.Unavailable or SyncStatusCode.DeadlineExceeded || error is OperationCanceledException
                ? SyncPeerState.Unreachable
                : SyncPeerState.Failing;
        }
    }

    /// <summary>A pass ended by the caller's cancellation (the node stops, or the peer was removed): nothing is concluded.</summary>
    public void Abandoned()
    {
        lock (_gate)
        {
            _running = Math.Max(0, _running - 1);
        }
    }

    /// <summary>The peer's status now, with <paramref name="localCount"/> for the estimates.</summary>
    public SyncPeerStatus Snapshot(string name, SyncExtensions extensions, long localCount)
    {
        lock (_gate)
        {
            // Estimated from the counts unless the last pass compared the sets completely (and nothing has run since).
            long missing = _missing, peerMissing = _peerMissing;
            if (!_exact && _remoteCount is long remote)
            {
                missing = Math.Max(missing, remote - localCount);
                peerMissing = Math.Max(peerMissing, localCount - remote);
            }

            SyncPeerState state = _state switch
            {
                SyncPeerState.Unknown when _running > 0 => SyncPeerState.Syncing,
                SyncPeerState.InSync when missing > 0 => SyncPeerState.Behind,
                SyncPeerState.InSync when peerMissing > 0 => SyncPeerState.PeerBehind,
                _ => _state,
            };

            return new SyncPeerStatus
            {
                Name = name,
                State = state,
                Extensions = extensions,
                PassRunning = _running > 0,
                LastPassAt = _lastPassAt,
                LastPassDuration = _lastPassDuration,
                LastSuccessAt = _lastSuccessAt,
                LastError = _lastError,
                RemoteCount = _remoteCount,
                Missing = Math.Max(0, missing),
                MissingExact = _exact,
                PeerMissing = Math.Max(0, peerMissing),
            };
        }
    }

    /// <summary>The code and the start of the message, on one line, without control characters (part of it is the peer's).</summary>
    private static string Describe(SyncStatusCode? code, string message)
    {
        var text = new StringBuilder(MaxErrorLength + 32);
        text.Append(code?.ToString() ?? "Error").Append(": ");
        foreach (char c in message)
        {
            if (text.Length >= MaxErrorLength)
            {
                text.Append('…');
                break;
            }

            text.Append(char.IsControl(c) ? ' ' : c);
        }

        return text.ToString();
    }
}

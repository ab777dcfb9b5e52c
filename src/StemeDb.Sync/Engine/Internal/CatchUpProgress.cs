using System;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Logs a long catch-up from a peer at Information as it goes: the assertions stored so far of the expected total and the
/// rate, about every 10% of the total or every 5 seconds, whichever comes first. Short catch-ups (under
/// <see cref="MinimumTotal"/>) log nothing here: the pass's own summary line covers them.
/// </summary>
internal sealed class CatchUpProgress
{
    /// <summary>The least expected total that is logged as it goes.</summary>
    public const long MinimumTotal = 1_000;

    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger;
    private readonly string _peer;
    private readonly long _total;
    private readonly TimeProvider _time;
    private readonly long _started;
    private long _lastLoggedAt;
    private int _lastTenth;
    private long _done;

    private CatchUpProgress(ILogger logger, string peer, long total, TimeProvider time)
    {
        _logger = logger;
        _peer = peer;
        _total = total;
        _time = time;
        _started = _lastLoggedAt = time.GetTimestamp();
    }

    /// <summary>A progress log for a catch-up of about <paramref name="total"/> assertions; <see langword="null"/> when it is too short to log.</summary>
    public static CatchUpProgress? For(ILogger logger, string peer, long total, TimeProvider time) =>
        total >= MinimumTotal && logger.IsEnabled(LogLevel.Information) ? new CatchUpProgress(logger, peer, total, time) : null;

    /// <summary>Counts <paramref name="stored"/> more assertions, and logs when a tenth of the total or 5 seconds have passed since the last line.</summary>
    public void Advance(long stored)
    {
        _done += stored;
        int tenth = (int)Math.Min(10, _done * 10 / _total);
        long now = _time.GetTimestamp();
        if (tenth == _lastTenth && _time.GetElapsedTime(_lastLoggedAt, now) < Every)
        {
            return;
        }

        _lastTenth = tenth;
        _lastLoggedAt = now;
        double seconds = _time.GetElapsedTime(_started, now).TotalSeconds;
        long rate = seconds > 0 ? (long)(_done / seconds) : 0;
        SyncLog.CatchUpProgress(_logger, _peer, _done, _total, (int)Math.Min(100, _done * 100 / _total), rate);
    }
}

using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Server.Internal;

/// <summary>
/// Decides which refusals get a log line: the first of each caller and kind, then at most one per interval, which
/// reports how many were not logged since. A refused caller that keeps calling costs one line per interval, not one
/// per call. The table is bounded: past <see cref="MaxTracked"/> callers it starts over.
/// </summary>
internal sealed class RefusalLog
{
    /// <summary>The most callers (and kinds) remembered at once.</summary>
    public const int MaxTracked = 10_000;

    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Dictionary<(string Peer, string Kind), Entry> _entries = [];
    private readonly object _lock = new();

    public RefusalLog(TimeProvider time, TimeSpan interval)
    {
        _time = time;
        _interval = interval;
    }

    /// <summary>Records one refusal; returns whether to log it, and how many refusals of the same caller and kind were not logged before it.</summary>
    public bool ShouldLog(string peer, string kind, out long suppressed)
    {
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_entries.TryGetValue((peer, kind), out Entry entry) && _time.GetElapsedTime(entry.LoggedAt, now) < _interval)
            {
                _entries[(peer, kind)] = entry with { Suppressed = entry.Suppressed + 1 };
                suppressed = 0;
                return false;
            }

            if (_entries.Count >= MaxTracked)
            {
                _entries.Clear();
            }

            suppressed = entry.Suppressed;
            _entries[(peer, kind)] = new Entry(now, 0);
            return true;
        }
    }

    private readonly record struct Entry(long LoggedAt, long Suppressed);
}

using System;

namespace StemeDb.Sync;

/// <summary>A received HLC timestamp was further ahead of local wall time than the clock allows.</summary>
public sealed class HlcDriftException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="remote">The refused timestamp.</param>
    /// <param name="localWallTime">Local wall time in milliseconds since the Unix epoch when it was refused.</param>
    /// <param name="maxForwardDrift">The configured bound.</param>
    public HlcDriftException(HlcTimestamp remote, ulong localWallTime, TimeSpan maxForwardDrift)
        : base($"HLC timestamp {remote} is {(remote.Time > localWallTime ? remote.Time - localWallTime : 0)} ms ahead of local wall time {localWallTime}; at most {(long)maxForwardDrift.TotalMilliseconds} ms is allowed.")
    {
        Remote = remote;
        LocalWallTime = localWallTime;
        MaxForwardDrift = maxForwardDrift;
    }

    /// <summary>Creates the exception.</summary>
    public HlcDriftException()
        : base("An HLC timestamp was too far ahead of local wall time.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public HlcDriftException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public HlcDriftException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The refused timestamp.</summary>
    public HlcTimestamp Remote { get; }

    /// <summary>Local wall time (ms since the Unix epoch) when the timestamp was refused.</summary>
    public ulong LocalWallTime { get; }

    /// <summary>The configured bound.</summary>
    public TimeSpan MaxForwardDrift { get; }
}

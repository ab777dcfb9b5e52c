using System;

namespace StemeDb.Sync;

/// <summary>A call to a remote peer failed: unreachable, timed out, refused, or answered outside the protocol.</summary>
public sealed class SyncPeerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">What went wrong.</param>
    /// <param name="message">A clear description.</param>
    /// <param name="innerException">The transport's own exception, if any.</param>
    public SyncPeerException(SyncStatusCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Creates the exception with code <see cref="SyncStatusCode.Unavailable"/>.</summary>
    public SyncPeerException()
        : this(SyncStatusCode.Unavailable, "The peer call failed.")
    {
    }

    /// <summary>Creates the exception with code <see cref="SyncStatusCode.Unavailable"/>.</summary>
    /// <param name="message">A clear description.</param>
    public SyncPeerException(string message)
        : this(SyncStatusCode.Unavailable, message)
    {
    }

    /// <summary>Creates the exception with code <see cref="SyncStatusCode.Unavailable"/>.</summary>
    /// <param name="message">A clear description.</param>
    /// <param name="innerException">The cause.</param>
    public SyncPeerException(string message, Exception innerException)
        : this(SyncStatusCode.Unavailable, message, innerException)
    {
    }

    /// <summary>What went wrong.</summary>
    public SyncStatusCode Code { get; }
}

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

    /// <summary>What went wrong.</summary>
    public SyncStatusCode Code { get; }
}

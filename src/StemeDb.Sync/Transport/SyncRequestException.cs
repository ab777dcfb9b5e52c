using System;

namespace StemeDb.Sync;

/// <summary>A request received from a peer was refused; transport adapters map <see cref="Code"/> to their status.</summary>
public sealed class SyncRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">Why the request was refused.</param>
    /// <param name="message">A clear description for the caller.</param>
    public SyncRequestException(SyncStatusCode code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>Why the request was refused.</summary>
    public SyncStatusCode Code { get; }
}

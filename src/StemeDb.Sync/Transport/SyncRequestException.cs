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

    /// <summary>Creates the exception with code <see cref="SyncStatusCode.InvalidArgument"/>.</summary>
    public SyncRequestException()
        : this(SyncStatusCode.InvalidArgument, "The request was invalid.")
    {
    }

    /// <summary>Creates the exception with code <see cref="SyncStatusCode.InvalidArgument"/>.</summary>
    /// <param name="message">A clear description for the caller.</param>
    public SyncRequestException(string message)
        : this(SyncStatusCode.InvalidArgument, message)
    {
    }

    /// <summary>Creates the exception with code <see cref="SyncStatusCode.InvalidArgument"/>.</summary>
    /// <param name="message">A clear description for the caller.</param>
    /// <param name="innerException">The cause.</param>
    public SyncRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = SyncStatusCode.InvalidArgument;
    }

    /// <summary>Why the request was refused.</summary>
    public SyncStatusCode Code { get; }
}

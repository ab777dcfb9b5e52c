namespace StemeDb.Sync;

/// <summary>
/// Transport-neutral outcome codes. The names and meanings follow gRPC status codes so that adapters map
/// them one to one.
/// </summary>
public enum SyncStatusCode
{
    /// <summary>The request was malformed: wrong lengths, too many items, invalid content.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline expired before the call completed.</summary>
    DeadlineExceeded = 4,

    /// <summary>The caller is not allowed to make this call.</summary>
    PermissionDenied = 7,

    /// <summary>A limit was exceeded (message size, per-peer budget).</summary>
    ResourceExhausted = 8,

    /// <summary>The peer does not implement this call (for example a v1-only node asked for an extension).</summary>
    Unimplemented = 12,

    /// <summary>The peer failed internally.</summary>
    Internal = 13,

    /// <summary>The peer could not be reached or went away mid-call.</summary>
    Unavailable = 14,

    /// <summary>The caller did not authenticate.</summary>
    Unauthenticated = 16,

    /// <summary>The peer answered something that does not follow the protocol.</summary>
    InvalidResponse = 100,
}

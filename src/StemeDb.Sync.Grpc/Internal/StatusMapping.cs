using Grpc.Core;

namespace StemeDb.Sync.Grpc.Internal;

/// <summary>Maps between the core's <see cref="SyncStatusCode"/> and gRPC <see cref="StatusCode"/>.</summary>
internal static class StatusMapping
{
    /// <summary>The gRPC status a refused request is answered with.</summary>
    public static StatusCode ToGrpc(SyncStatusCode code) => code switch
    {
        SyncStatusCode.InvalidArgument => StatusCode.InvalidArgument,
        SyncStatusCode.DeadlineExceeded => StatusCode.DeadlineExceeded,
        SyncStatusCode.PermissionDenied => StatusCode.PermissionDenied,
        SyncStatusCode.ResourceExhausted => StatusCode.ResourceExhausted,
        SyncStatusCode.Unimplemented => StatusCode.Unimplemented,
        SyncStatusCode.Unavailable => StatusCode.Unavailable,
        SyncStatusCode.Unauthenticated => StatusCode.Unauthenticated,

        // Internal, InvalidResponse (a client-side notion) and anything unknown.
        _ => StatusCode.Internal,
    };

    /// <summary>The core code a failed call is reported with.</summary>
    public static SyncStatusCode FromGrpc(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument => SyncStatusCode.InvalidArgument,
        StatusCode.DeadlineExceeded => SyncStatusCode.DeadlineExceeded,
        StatusCode.PermissionDenied => SyncStatusCode.PermissionDenied,
        StatusCode.ResourceExhausted => SyncStatusCode.ResourceExhausted,
        StatusCode.Unimplemented => SyncStatusCode.Unimplemented,
        StatusCode.Unavailable => SyncStatusCode.Unavailable,
        StatusCode.Unauthenticated => SyncStatusCode.Unauthenticated,

        // The peer refused the request for a reason v1 does not name.
        StatusCode.NotFound or StatusCode.AlreadyExists or StatusCode.FailedPrecondition or StatusCode.OutOfRange
            => SyncStatusCode.InvalidArgument,

        // Cancelled by the peer or the connection went away (our own cancellation is handled before mapping).
        StatusCode.Cancelled or StatusCode.Aborted => SyncStatusCode.Unavailable,

        // Unknown, DataLoss, Internal, OK-with-failure and anything unknown.
        _ => SyncStatusCode.Internal,
    };
}

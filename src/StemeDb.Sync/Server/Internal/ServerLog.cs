using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Server.Internal;

/// <summary>Log messages of <see cref="SyncServer"/>, with stable event ids (4xx).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 400, EventName = "PeerRefused", Level = LogLevel.Information,
        Message = "{Rpc} from {Peer} refused by the peer guard: {Refusal} ({Suppressed} more such refusals of this peer since the last report)")]
    public static partial void PeerRefused(ILogger logger, SyncRpc rpc, string peer, PeerGuardRefusal refusal, long suppressed);

    [LoggerMessage(EventId = 401, EventName = "PeerBlocked", Level = LogLevel.Warning,
        Message = "{Peer} went over the rejected-request limit on {Rpc}; its calls are refused for a while")]
    public static partial void PeerBlocked(ILogger logger, SyncRpc rpc, string peer);

    [LoggerMessage(EventId = 402, EventName = "CallerRefused", Level = LogLevel.Warning,
        Message = "{Rpc} from {Peer} refused by the authorizer ({Reason}): {Detail} ({Suppressed} more such refusals of this caller since the last report)")]
    public static partial void CallerRefused(ILogger logger, SyncRpc rpc, string peer, string reason, string detail, long suppressed);

    [LoggerMessage(EventId = 403, EventName = "PushRejected", Level = LogLevel.Warning,
        Message = "{Rpc} from {Peer}: a pushed assertion was rejected: {Reason} ({Suppressed} more rejected pushes of this peer since the last report)")]
    public static partial void PushRejected(ILogger logger, SyncRpc rpc, string peer, string reason, long suppressed);
}

using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Server.Internal;

/// <summary>Log messages of <see cref="SyncServer"/>, with stable event ids (4xx).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 400, EventName = "PeerRefused", Level = LogLevel.Debug,
        Message = "{Rpc} from {Peer} refused by the peer guard: {Refusal}")]
    public static partial void PeerRefused(ILogger logger, SyncRpc rpc, string peer, PeerGuardRefusal refusal);

    [LoggerMessage(EventId = 401, EventName = "PeerBlocked", Level = LogLevel.Warning,
        Message = "{Peer} went over the rejected-request limit on {Rpc}; its calls are refused for a while")]
    public static partial void PeerBlocked(ILogger logger, SyncRpc rpc, string peer);
}

using System;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Grpc.Internal;

/// <summary>Log messages of <see cref="SyncServiceImpl"/>, with stable event ids.</summary>
internal static partial class SyncServiceLog
{
    [LoggerMessage(EventId = 1, EventName = "GossipRejected", Level = LogLevel.Debug,
        Message = "Gossip from {Peer} rejected: {Reason}")]
    public static partial void GossipRejected(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 2, EventName = "RequestRejected", Level = LogLevel.Debug,
        Message = "{Rpc} from {Peer} refused with {Code}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, SyncRpc rpc, string peer, StatusCode code, string reason);

    [LoggerMessage(EventId = 3, EventName = "UnexpectedError", Level = LogLevel.Error,
        Message = "{Rpc} from {Peer} failed with an unexpected error; the caller gets INTERNAL")]
    public static partial void UnexpectedError(ILogger logger, SyncRpc rpc, string peer, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "CallCancelled", Level = LogLevel.Debug,
        Message = "{Rpc} from {Peer} was cancelled by the caller or its deadline")]
    public static partial void CallCancelled(ILogger logger, SyncRpc rpc, string peer);
}

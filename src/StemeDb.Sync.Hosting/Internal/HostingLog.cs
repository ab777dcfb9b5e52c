using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Hosting.Internal;

internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1, EventName = "NodeServing", Level = LogLevel.Information, Message = "StemeDb.Sync node {NodeId} serving with {Count} assertions and {PeerCount} peers")]
    public static partial void NodeServing(ILogger logger, NodeId nodeId, long count, int peerCount);
}

using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Hosting.Internal;

internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1, EventName = "NodeServing", Level = LogLevel.Information, Message = "StemeDb.Sync node {NodeId} serving with {Count} assertions and {PeerCount} peers")]
    public static partial void NodeServing(ILogger logger, NodeId nodeId, long count, int peerCount);

    [LoggerMessage(EventId = 2, EventName = "PeerLeft", Level = LogLevel.Information, Message = "Peer {Peer} removed: it is no longer configured or resolved")]
    public static partial void PeerLeft(ILogger logger, string peer);

    [LoggerMessage(EventId = 3, EventName = "PeerIsSelf", Level = LogLevel.Debug, Message = "{Peer} is this node; not added as a peer")]
    public static partial void PeerIsSelf(ILogger logger, string peer);

    [LoggerMessage(EventId = 4, EventName = "PeerNotReachable", Level = LogLevel.Debug, Message = "{Peer} (resolved by DNS) did not answer a ping ({Reason}); trying again at the next resolution")]
    public static partial void PeerNotReachable(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 5, EventName = "PeerDnsFailed", Level = LogLevel.Warning, Message = "Resolving peer name {Host} failed: {Reason}")]
    public static partial void PeerDnsFailed(ILogger logger, string host, string reason);

    [LoggerMessage(EventId = 6, EventName = "PeerRefreshFailed", Level = LogLevel.Warning, Message = "Updating the peer list failed")]
    public static partial void PeerRefreshFailed(ILogger logger, System.Exception exception);

    [LoggerMessage(EventId = 7, EventName = "ReloadIgnored", Level = LogLevel.Error, Message = "The reloaded StemeDbSync configuration is invalid and is ignored; the peers stay as they were: {Failures}")]
    public static partial void ReloadIgnored(ILogger logger, string failures);

    [LoggerMessage(EventId = 8, EventName = "TokenNotSentInCleartext", Level = LogLevel.Warning, Message = "Peer {Peer} is cleartext (http://) beyond this machine: the bearer token is not sent to it, since anyone on the path could read it. Use an https:// address (TLS) for it, or mutual TLS instead of a token")]
    public static partial void TokenNotSentInCleartext(ILogger logger, string peer);

    [LoggerMessage(EventId = 9, EventName = "PeerDnsCapped", Level = LogLevel.Warning, Message = "Peer DNS entry {Entry} names {Count} peers; only the first {Max} (by address) are used and {Ignored} are ignored (StemeDbSync:PeerDnsMaxPeers)")]
    public static partial void PeerDnsCapped(ILogger logger, string entry, int count, int max, int ignored);

    [LoggerMessage(EventId = 10, EventName = "SecretFileReadable", Level = LogLevel.Warning, Message = "{Warning}")]
    public static partial void SecretFileReadable(ILogger logger, string warning);

    [LoggerMessage(EventId = 11, EventName = "Exposed", Level = LogLevel.Critical, Message = "The host does not start: {Problem}")]
    public static partial void Exposed(ILogger logger, string problem);

    [LoggerMessage(EventId = 12, EventName = "ClientCertificateRefused", Level = LogLevel.Warning, Message = "TLS connection from {Source} refused: {Reason} ({Suppressed} more such refusals of this source since the last report)")]
    public static partial void ClientCertificateRefused(ILogger logger, string source, string reason, long suppressed);
}

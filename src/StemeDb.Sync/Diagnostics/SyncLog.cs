using System;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync;

/// <summary>Every log message of the engine, with stable event ids (1xx node, 2xx gossip, 3xx anti-entropy).</summary>
internal static partial class SyncLog
{
    [LoggerMessage(EventId = 100, EventName = "NodeStarted", Level = LogLevel.Information,
        Message = "Sync node {NodeId} started with {Count} assertions.")]
    public static partial void NodeStarted(ILogger logger, NodeId nodeId, long count);

    [LoggerMessage(EventId = 101, EventName = "NodeStopped", Level = LogLevel.Information,
        Message = "Sync node {NodeId} stopped.")]
    public static partial void NodeStopped(ILogger logger, NodeId nodeId);

    [LoggerMessage(EventId = 102, EventName = "PeerAdded", Level = LogLevel.Information,
        Message = "Peer {Peer} added.")]
    public static partial void PeerAdded(ILogger logger, string peer);

    [LoggerMessage(EventId = 103, EventName = "PeerRemoved", Level = LogLevel.Information,
        Message = "Peer {Peer} removed.")]
    public static partial void PeerRemoved(ILogger logger, string peer);

    [LoggerMessage(EventId = 104, EventName = "BackgroundLoopFailed", Level = LogLevel.Error,
        Message = "A background loop of the sync node failed unexpectedly; it keeps running.")]
    public static partial void BackgroundLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 200, EventName = "GossipQueueFull", Level = LogLevel.Debug,
        Message = "Gossip queue full: {Hash} is not pushed; anti-entropy will catch up.")]
    public static partial void GossipQueueFull(ILogger logger, AssertionHash hash);

    [LoggerMessage(EventId = 201, EventName = "GossipSendFailed", Level = LogLevel.Debug,
        Message = "Gossip of {Hash} to {Peer} failed (attempt {Attempt}).")]
    public static partial void GossipSendFailed(ILogger logger, AssertionHash hash, string peer, int attempt, Exception exception);

    [LoggerMessage(EventId = 202, EventName = "GossipAbandoned", Level = LogLevel.Information,
        Message = "Gossip of {Hash} to {Peer} abandoned after {Attempts} attempts; anti-entropy will catch up.")]
    public static partial void GossipAbandoned(ILogger logger, AssertionHash hash, string peer, int attempts);

    [LoggerMessage(EventId = 203, EventName = "GossipRejectedByPeer", Level = LogLevel.Warning,
        Message = "Peer {Peer} rejected {Hash}: {Reason}")]
    public static partial void GossipRejectedByPeer(ILogger logger, string peer, AssertionHash hash, string reason);

    [LoggerMessage(EventId = 204, EventName = "GossipRejected", Level = LogLevel.Debug,
        Message = "Rejected gossiped assertion: {Reason}")]
    public static partial void GossipRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 300, EventName = "AntiEntropyCompleted", Level = LogLevel.Debug,
        Message = "Anti-entropy with {Peer}: roots equal at the start {RootsMatched}, fetched {Fetched}, pushed {Pushed}, rejected {Rejected}, complete diff {Complete}.")]
    public static partial void AntiEntropyCompleted(ILogger logger, string peer, bool rootsMatched, int fetched, int pushed, int rejected, bool complete);

    [LoggerMessage(EventId = 301, EventName = "AntiEntropyFailed", Level = LogLevel.Warning,
        Message = "Anti-entropy with {Peer} failed; it is retried at the next interval.")]
    public static partial void AntiEntropyFailed(ILogger logger, string peer, Exception exception);

    [LoggerMessage(EventId = 302, EventName = "FetchedAssertionRejected", Level = LogLevel.Warning,
        Message = "Rejected assertion fetched from {Peer}: {Reason}")]
    public static partial void FetchedAssertionRejected(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 303, EventName = "AntiEntropyPartialDiff", Level = LogLevel.Information,
        Message = "Peer {Peer} holds more leaves than one v1 GetLeaves answer returns; this pass reconciled only hashes up to {CoveredUpTo}.")]
    public static partial void AntiEntropyPartialDiff(ILogger logger, string peer, AssertionHash coveredUpTo);

    [LoggerMessage(EventId = 304, EventName = "PushRejectedByPeer", Level = LogLevel.Warning,
        Message = "Peer {Peer} rejected pushed assertion {Hash}: {Reason}")]
    public static partial void PushRejectedByPeer(ILogger logger, string peer, AssertionHash hash, string reason);

    [LoggerMessage(EventId = 305, EventName = "AntiEntropyStillFailing", Level = LogLevel.Debug,
        Message = "Anti-entropy with {Peer} failed again ({Failure}), as in the previous pass; it is retried at the next interval.")]
    public static partial void AntiEntropyStillFailing(ILogger logger, string peer, string failure);

    [LoggerMessage(EventId = 306, EventName = "AntiEntropyRecovered", Level = LogLevel.Information,
        Message = "Anti-entropy with {Peer} works again.")]
    public static partial void AntiEntropyRecovered(ILogger logger, string peer);

    [LoggerMessage(EventId = 307, EventName = "StreamPullStarted", Level = LogLevel.Information,
        Message = "Pulling every assertion from peer {Peer} by StreamAssertions (it holds {RemoteCount}, this node {LocalCount}), after {ResumeAfter}")]
    public static partial void StreamPullStarted(ILogger logger, string peer, long remoteCount, long localCount, string resumeAfter);

    [LoggerMessage(EventId = 308, EventName = "StreamPullCompleted", Level = LogLevel.Information,
        Message = "Pulled from peer {Peer} by StreamAssertions: {Stored} assertions stored ({Added} new, {Bytes} bytes), {Rejected} refused, in {Chunks} chunks")]
    public static partial void StreamPullCompleted(ILogger logger, string peer, long stored, long added, long bytes, long rejected, long chunks);

    [LoggerMessage(EventId = 309, EventName = "StreamPullFailed", Level = LogLevel.Information,
        Message = "The StreamAssertions pull from peer {Peer} failed with {Code} after {Stored} assertions stored ({Added} new); the next pull resumes after {ResumeAfter}")]
    public static partial void StreamPullFailed(ILogger logger, string peer, SyncStatusCode code, long stored, long added, string resumeAfter);

    [LoggerMessage(EventId = 310, EventName = "StreamPullUnsupported", Level = LogLevel.Debug,
        Message = "Peer {Peer} does not serve StreamAssertions ({Code}); its passes use the diff and fetches")]
    public static partial void StreamPullUnsupported(ILogger logger, string peer, SyncStatusCode code);

    [LoggerMessage(EventId = 311, EventName = "AntiEntropyMovedData", Level = LogLevel.Information,
        Message = "Anti-entropy with {Peer}: fetched {Fetched}, pushed {Pushed}, refused {Rejected}, complete diff {Complete}.")]
    public static partial void AntiEntropyMovedData(ILogger logger, string peer, long fetched, long pushed, long rejected, bool complete);

    [LoggerMessage(EventId = 312, EventName = "CatchUpProgress", Level = LogLevel.Information,
        Message = "Catching up from {Peer}: {Done} of about {Total} assertions ({Percent}%), {Rate} per second.")]
    public static partial void CatchUpProgress(ILogger logger, string peer, long done, long total, int percent, long rate);

    [LoggerMessage(EventId = 105, EventName = "StatusHandlerFailed", Level = LogLevel.Warning,
        Message = "A handler of PeerStatusChanged threw; the node goes on.")]
    public static partial void StatusHandlerFailed(ILogger logger, Exception exception);
}

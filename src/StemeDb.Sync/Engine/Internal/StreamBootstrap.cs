using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>What a streaming pull brought, for the pass's result.</summary>
internal readonly record struct StreamPullOutcome(bool Pulled, long Added, long Bytes, long Rejected, int Calls);

/// <summary>
/// The first step of a pass with a peer this node is far behind: pull the peer's whole set (after where an earlier pull
/// broke) with <c>StreamAssertions</c>, through the bulk receive path of an import, before the pass goes on with the
/// diff. A peer that answers <c>UNIMPLEMENTED</c> (a v1 node, or an older version of this library) or outside the
/// protocol loses the extension for good, and its passes use the diff and fetches.
/// </summary>
internal sealed class StreamBootstrap
{
    /// <summary>The least lead (in assertions) of a peer over a non-empty node for a streaming pull: one page of leaves.</summary>
    public const long MinimumLead = SyncProtocol.MaxLeavesPerPage;

    private readonly SyncNodeOptions _options;
    private readonly IncomingAssertions _incoming;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public StreamBootstrap(SyncNodeOptions options, IncomingAssertions incoming, ILogger logger, TimeProvider time)
    {
        _time = time;
        _options = options;
        _incoming = incoming;
        _logger = logger;
    }

    /// <summary>
    /// Whether a pass streams: when an earlier pull from the peer broke (it resumes), when this node holds nothing and the
    /// peer something, or when the peer holds at least <see cref="MinimumLead"/> more assertions than this node and at
    /// least twice as many. Below that the diff costs less than receiving what is already held again. (After a pull from
    /// a peer completed, the next waits until the peer has gained <see cref="MinimumLead"/> more.)
    /// </summary>
    public static bool ShouldStream(long localCount, long remoteCount, bool resuming) =>
        resuming
        || (remoteCount > 0 && localCount <= 0)
        || (remoteCount - localCount >= MinimumLead && remoteCount / 2 >= localCount);

    /// <summary>Pulls by streaming when the rule says so and the peer has the extension; throws when the pull fails.</summary>
    public async ValueTask<StreamPullOutcome> PullIfBehindAsync(PeerCalls peer, long localCount, long remoteCount, CancellationToken cancellationToken)
    {
        PeerSyncState capabilities = peer.Capabilities;
        AssertionHash? resumeAfter = capabilities.StreamResumeAfter;
        if (!capabilities.Stream || !ShouldStream(localCount, remoteCount, resumeAfter is not null))
        {
            return default;
        }

        long streamedAt = capabilities.StreamedAtRemoteCount;
        if (resumeAfter is null && streamedAt >= 0 && remoteCount - streamedAt < MinimumLead)
        {
            return default; // streamed completely before, and the peer has not grown much since: the diff does the rest
        }

        SyncLog.StreamPullStarted(_logger, peer.Name, remoteCount, localCount, resumeAfter?.ToString() ?? "the start");
        var progress = new StreamPullProgress();
        CatchUpProgress? catchUp = CatchUpProgress.For(_logger, peer.Name, remoteCount - Math.Max(0, localCount), _time);
        try
        {
            await peer.StreamAsync(
                resumeAfter,
                0,
                _options.MaxAssertionBytes,
                true, // the records may borrow the reader's buffer: the receive path copies what it keeps (see ReceiveManyAsync)
                async (records, ct) =>
                {
                    ReceivedBatch batch = await _incoming.ReceiveManyAsync(records, ct, streamed: true).ConfigureAwait(false);
                    SyncDiagnostics.FetchedAssertions.Add(batch.Added); // progress, batch by batch
                    catchUp?.Advance(batch.Added);
                    return batch;
                },
                progress,
                reason =>
                {
                    SyncDiagnostics.FetchRejected.Add(1);
                    SyncLog.FetchedAssertionRejected(_logger, peer.Name, reason);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (SyncPeerException ex) when (ex.Code is SyncStatusCode.Unimplemented or SyncStatusCode.PermissionDenied && progress.Chunks == 0)
        {
            // A v1 node or an older version of this library (UNIMPLEMENTED), or a server whose authorizer refuses this
            // RPC to us: the diff and fetches from here on.
            capabilities.Stream = false;
            SyncLog.StreamPullUnsupported(_logger, peer.Name, ex.Code);
            return new StreamPullOutcome(false, 0, 0, 0, 1);
        }
        catch (SyncPeerException ex)
        {
            if (ex.Code == SyncStatusCode.InvalidResponse)
            {
                capabilities.Stream = false; // answers outside the protocol: the diff and fetches from here on
            }

            if (progress.ResumeAfter is { } committed)
            {
                capabilities.StreamResumeAfter = committed;
            }

            SyncDiagnostics.BytesReceived.Add(progress.Bytes, SyncDiagnostics.Tag("kind", "stream"));
            SyncLog.StreamPullFailed(_logger, peer.Name, ex.Code, progress.Stored, progress.Added, capabilities.StreamResumeAfter?.ToString() ?? "the start");
            throw new SyncPeerException(
                ex.Code,
                $"{ex.Message} The streaming pull stored {progress.Stored} assertions ({progress.Added} new) before it failed; they stay stored.",
                ex);
        }
        catch (OperationCanceledException)
        {
            if (progress.ResumeAfter is { } committed)
            {
                capabilities.StreamResumeAfter = committed;
            }

            throw;
        }

        capabilities.StreamResumeAfter = null;
        capabilities.StreamedAtRemoteCount = remoteCount;
        SyncDiagnostics.BytesReceived.Add(progress.Bytes, SyncDiagnostics.Tag("kind", "stream"));
        SyncLog.StreamPullCompleted(_logger, peer.Name, progress.Stored, progress.Added, progress.Bytes, progress.Rejected, progress.Chunks);
        return new StreamPullOutcome(true, progress.Added, progress.Bytes, progress.Rejected, 1);
    }
}

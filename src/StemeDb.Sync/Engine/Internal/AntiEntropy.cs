using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Anti-entropy: one loop per peer, and the pass itself. Exchange roots; if they differ, find what each side lacks
/// (<see cref="PeerDiff"/>), fetch what is missing here in batches, hand the answers to the receive path, and push
/// what the peer lacks (<see cref="BulkPush"/>).
/// </summary>
internal sealed class AntiEntropy
{
    private readonly SyncNodeOptions _options;
    private readonly MerkleIndex _index;
    private readonly IAssertionStore _store;
    private readonly IncomingAssertions _incoming;
    private readonly StreamBootstrap _bootstrap;
    private readonly NodeRandomness _retry;
    private readonly NodeLifecycle _lifecycle;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    public AntiEntropy(
        SyncNodeOptions options,
        MerkleIndex index,
        IAssertionStore store,
        IncomingAssertions incoming,
        NodeRandomness retry,
        NodeLifecycle lifecycle,
        ILogger logger,
        TimeProvider timeProvider)
    {
        _options = options;
        _index = index;
        _store = store;
        _incoming = incoming;
        _bootstrap = new StreamBootstrap(options, incoming, logger);
        _retry = retry;
        _lifecycle = lifecycle;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <summary>Starts the peer's loop, unless periodic anti-entropy is off.</summary>
    public void StartLoop(PeerEntry entry)
    {
        if (_options.AntiEntropyInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        entry.Loop = Task.Run(() => LoopAsync(entry), CancellationToken.None);
    }

    /// <summary>One pass with a peer; throws <see cref="SyncPeerException"/> when a call fails or times out.</summary>
    public async ValueTask<SyncPassResult> RunPassAsync(PeerCalls peer, CancellationToken cancellationToken)
    {
        using Activity? activity = SyncDiagnostics.ActivitySource.StartActivity("StemeDb.Sync.AntiEntropy", ActivityKind.Client);
        activity?.SetTag("stemedb.sync.peer", peer.Name);
        long roundTrips = 0;
        long fetched = 0;
        long rejected = 0;
        long bytesIn = 0;
        long streamedAdded = 0; // counted by the streaming pull as it went
        try
        {
            var local = new RootSummary(_index.Root, _index.Count);
            RootExchangeResult exchange = await peer.ExchangeRootsAsync(local, cancellationToken).ConfigureAwait(false);
            roundTrips++;
            if (exchange.RootsMatch || exchange.Remote.Root == local.Root)
            {
                SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "match"));
                return new SyncPassResult { RootsMatched = true, Complete = true, RoundTrips = roundTrips };
            }

            if (peer.Capabilities.Converged is { } converged && converged.Local.SameAs(local) && converged.Remote.SameAs(exchange.Remote))
            {
                // Nothing changed on either side since a pass found the sets equal (a peer with a root scheme of its
                // own, such as a v1 node, never reports a matching root): no leaf listing.
                SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "unchanged"));
                return new SyncPassResult { Unchanged = true, Complete = true, RoundTrips = roundTrips };
            }

            // Far behind the peer (or resuming a pull that broke): pull its whole set as one stream first, then go on
            // with the diff for whatever the stream did not bring (what the peer lacks, what arrived meanwhile).
            StreamPullOutcome streamed = await _bootstrap.PullIfBehindAsync(peer, local.Count, exchange.Remote.Count, cancellationToken).ConfigureAwait(false);
            roundTrips += streamed.Calls;
            fetched += streamed.Added;
            streamedAdded = streamed.Added;
            bytesIn += streamed.Bytes;
            rejected += streamed.Rejected;
            if (streamed.Pulled)
            {
                local = new RootSummary(_index.Root, _index.Count);
                exchange = await peer.ExchangeRootsAsync(local, cancellationToken).ConfigureAwait(false);
                roundTrips++;
                if (exchange.RootsMatch || exchange.Remote.Root == local.Root)
                {
                    SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "synced"));
                    SyncLog.AntiEntropyCompleted(_logger, peer.Name, false, (int)fetched, 0, (int)rejected, true);
                    activity?.SetTag("stemedb.sync.fetched", fetched);
                    return new SyncPassResult
                    {
                        Complete = true,
                        Fetched = fetched,
                        Rejected = rejected,
                        RoundTrips = roundTrips,
                        BytesReceived = bytesIn,
                    };
                }
            }

            DiffResult diff = await PeerDiff.DiffAsync(
                _index, peer, _options.MaxLeavesPerRequest, cancellationToken, _retry.SeededSalt, exchange.Remote.Count, _options.ReconcileSymbols).ConfigureAwait(false);
            roundTrips += diff.RoundTrips;
            if (!diff.Complete)
            {
                SyncLog.AntiEntropyPartialDiff(_logger, peer.Name, diff.CoveredUpTo.GetValueOrDefault());
            }

            foreach (AssertionHash[] planned in SortedDiff.PlanFetches(diff.MissingLocally, _options.FetchBatchSize))
            {
                // A server may answer part of a batch (this library's stops at a byte budget, and v1 allows skipping):
                // what was left out is asked for again, as long as each answer brings something.
                AssertionHash[] batch = planned;
                while (batch.Length > 0)
                {
                    IReadOnlyList<AssertionRecord> records = await peer.FetchAsync(batch, cancellationToken).ConfigureAwait(false);
                    roundTrips++;
                    SyncDiagnostics.FetchRequests.Add(1);
                    FetchedOutcome outcome = await _incoming.ReceiveFetchedAsync(peer.Name, records, cancellationToken).ConfigureAwait(false);
                    fetched += outcome.Stored;
                    bytesIn += outcome.Bytes;
                    rejected += outcome.Rejected;
                    batch = records.Count == 0 ? [] : SortedDiff.LeftOut(batch, records);
                }
            }

            PushOutcome push = await BulkPush.PushAsync(
                _store,
                peer,
                diff.MissingRemotely,
                (hash, error) => SyncLog.PushRejectedByPeer(_logger, peer.Name, hash, error),
                cancellationToken).ConfigureAwait(false);
            roundTrips += push.Calls;
            if (diff.Complete && diff.MissingLocally.Count == 0 && diff.MissingRemotely.Count == 0)
            {
                peer.Capabilities.Converged = new ConvergedSummaries(local, exchange.Remote);
            }

            SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "synced"));
            SyncDiagnostics.FetchedAssertions.Add(fetched - streamedAdded);
            SyncDiagnostics.BytesReceived.Add(bytesIn - streamed.Bytes, SyncDiagnostics.Tag("kind", "fetch"));
            SyncDiagnostics.BytesSent.Add(push.BytesSent, SyncDiagnostics.Tag("kind", "push"));
            SyncLog.AntiEntropyCompleted(_logger, peer.Name, false, (int)fetched, push.Pushed, (int)rejected, diff.Complete);
            activity?.SetTag("stemedb.sync.fetched", fetched);
            activity?.SetTag("stemedb.sync.pushed", push.Pushed);
            return new SyncPassResult
            {
                Complete = diff.Complete,
                Fetched = fetched,
                Pushed = push.Pushed,
                Rejected = rejected,
                RoundTrips = roundTrips,
                BytesReceived = bytesIn,
                BytesSent = push.BytesSent,
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "failed"));
            SyncDiagnostics.FetchedAssertions.Add(fetched - streamedAdded);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            if (ex is OperationCanceledException)
            {
                // Only a per-call deadline cancels without the caller's token: report it as a peer failure.
                throw new SyncPeerException(
                    SyncStatusCode.DeadlineExceeded,
                    $"Peer '{peer.Name}' did not answer within {_options.PeerCallTimeout}; {fetched} assertions were stored before.",
                    ex);
            }

            throw;
        }
    }

    private async Task LoopAsync(PeerEntry entry)
    {
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(entry.Removed, _lifecycle.Stopping);
        CancellationToken cancellationToken = linked.Token;
        // A peer that keeps failing the same way is logged once with the exception, then briefly at Debug, and once more
        // when it works again: an unreachable or refusing peer does not fill the log with a stack trace every pass.
        string? failing = null;
        try
        {
            for (bool first = true; ; first = false)
            {
                TimeSpan wait = first ? _retry.FirstAntiEntropyDelay() : _retry.NextAntiEntropyDelay();
                await Task.Delay(wait, _timeProvider, cancellationToken).ConfigureAwait(false);
                try
                {
                    await RunPassAsync(entry.Calls, cancellationToken).ConfigureAwait(false);
                    if (failing is not null)
                    {
                        SyncLog.AntiEntropyRecovered(_logger, entry.Peer.Name);
                        failing = null;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // A background loop must never take the host down.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    string state = ex is SyncPeerException peerFailure ? peerFailure.Code.ToString() : ex.GetType().Name;
                    if (state == failing)
                    {
                        SyncLog.AntiEntropyStillFailing(_logger, entry.Peer.Name, state);
                    }
                    else
                    {
                        SyncLog.AntiEntropyFailed(_logger, entry.Peer.Name, ex);
                        failing = state;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}

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
    private readonly Action<PeerCalls>? _passEnded;

    public AntiEntropy(
        SyncNodeOptions options,
        MerkleIndex index,
        IAssertionStore store,
        IncomingAssertions incoming,
        NodeRandomness retry,
        NodeLifecycle lifecycle,
        ILogger logger,
        TimeProvider timeProvider,
        Action<PeerCalls>? passEnded = null)
    {
        _options = options;
        _index = index;
        _store = store;
        _incoming = incoming;
        _bootstrap = new StreamBootstrap(options, incoming, logger, timeProvider);
        _retry = retry;
        _lifecycle = lifecycle;
        _logger = logger;
        _timeProvider = timeProvider;
        _passEnded = passEnded;
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

    /// <summary>
    /// One pass with a peer; throws <see cref="SyncPeerException"/> when a call fails or times out. The peer's
    /// <see cref="PeerPassRecord"/> and the pass-duration histogram learn how it went.
    /// </summary>
    public async ValueTask<SyncPassResult> RunPassAsync(PeerCalls peer, CancellationToken cancellationToken)
    {
        PeerPassRecord record = peer.Capabilities.Passes;
        record.Started();
        long started = _timeProvider.GetTimestamp();
        try
        {
            PassOutcome outcome = await RunPassCoreAsync(peer, record, cancellationToken).ConfigureAwait(false);
            TimeSpan took = _timeProvider.GetElapsedTime(started);
            record.Succeeded(_timeProvider.GetUtcNow(), took, outcome.Missing, outcome.PeerMissing, outcome.Exact);
            SyncDiagnostics.PassDuration.Record(took.TotalSeconds, SyncDiagnostics.Tag("result", outcome.Label));
            return outcome.Result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            TimeSpan took = _timeProvider.GetElapsedTime(started);
            record.Failed(_timeProvider.GetUtcNow(), took, ex);
            SyncDiagnostics.PassDuration.Record(took.TotalSeconds, SyncDiagnostics.Tag("result", "failed"));
            throw;
        }
        catch
        {
            record.Abandoned();
            throw;
        }
        finally
        {
            _passEnded?.Invoke(peer);
        }
    }

    /// <summary>What a pass returns, and what it left missing on each side (exact after a complete comparison).</summary>
    private readonly record struct PassOutcome(SyncPassResult Result, string Label, long Missing, long PeerMissing, bool Exact);

    private async ValueTask<PassOutcome> RunPassCoreAsync(PeerCalls peer, PeerPassRecord record, CancellationToken cancellationToken)
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
            record.RemoteCountIs(exchange.Remote.Count);
            if (exchange.RootsMatch || exchange.Remote.Root == local.Root)
            {
                SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "match"));
                return new PassOutcome(new SyncPassResult { RootsMatched = true, Complete = true, RoundTrips = roundTrips }, "match", 0, 0, true);
            }

            if (peer.Capabilities.Converged is { } converged && converged.Local.SameAs(local) && converged.Remote.SameAs(exchange.Remote))
            {
                // Nothing changed on either side since a pass found the sets equal (a peer with a root scheme of its
                // own, such as a v1 node, never reports a matching root): no leaf listing.
                SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "unchanged"));
                return new PassOutcome(new SyncPassResult { Unchanged = true, Complete = true, RoundTrips = roundTrips }, "unchanged", 0, 0, true);
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
                record.RemoteCountIs(exchange.Remote.Count);
                if (exchange.RootsMatch || exchange.Remote.Root == local.Root)
                {
                    SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "synced"));
                    LogCompleted(peer.Name, fetched, 0, rejected, true);
                    activity?.SetTag("stemedb.sync.fetched", fetched);
                    var streamedResult = new SyncPassResult
                    {
                        Complete = true,
                        Fetched = fetched,
                        Rejected = rejected,
                        RoundTrips = roundTrips,
                        BytesReceived = bytesIn,
                    };
                    return new PassOutcome(streamedResult, "synced", 0, 0, true);
                }
            }

            DiffResult diff = await PeerDiff.DiffAsync(
                _index, peer, _options.MaxLeavesPerRequest, cancellationToken, _retry.SeededSalt, exchange.Remote.Count, _options.ReconcileSymbols).ConfigureAwait(false);
            roundTrips += diff.RoundTrips;
            if (!diff.Complete)
            {
                SyncLog.AntiEntropyPartialDiff(_logger, peer.Name, diff.CoveredUpTo.GetValueOrDefault());
            }

            CatchUpProgress? catchUp = CatchUpProgress.For(_logger, peer.Name, diff.MissingLocally.Count, _timeProvider);
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
                    catchUp?.Advance(outcome.Stored + outcome.Rejected);
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
            LogCompleted(peer.Name, fetched, push.Pushed, rejected, diff.Complete);
            activity?.SetTag("stemedb.sync.fetched", fetched);
            activity?.SetTag("stemedb.sync.pushed", push.Pushed);

            // What the pass left: the hashes it found missing here that are still not held (refused, or skipped by every
            // answer), and those the peer lacked that it did not accept. Exact when the diff saw the peer's whole set.
            long stillMissing = 0;
            foreach (AssertionHash hash in diff.MissingLocally)
            {
                stillMissing += _index.Contains(hash) ? 0 : 1;
            }

            var result = new SyncPassResult
            {
                Complete = diff.Complete,
                Fetched = fetched,
                Pushed = push.Pushed,
                Rejected = rejected,
                RoundTrips = roundTrips,
                BytesReceived = bytesIn,
                BytesSent = push.BytesSent,
            };
            return new PassOutcome(result, "synced", stillMissing, diff.MissingRemotely.Count - push.Pushed, diff.Complete);
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

    /// <summary>A pass that moved data is worth a line at Information; one that moved nothing, at Debug.</summary>
    private void LogCompleted(string peer, long fetched, long pushed, long rejected, bool complete)
    {
        if (fetched > 0 || pushed > 0 || rejected > 0)
        {
            SyncLog.AntiEntropyMovedData(_logger, peer, fetched, pushed, rejected, complete);
        }
        else
        {
            SyncLog.AntiEntropyCompleted(_logger, peer, false, 0, 0, 0, complete);
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

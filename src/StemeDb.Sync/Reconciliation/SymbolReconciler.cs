using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Merkle.Internal;
using StemeDb.Sync.Reconciliation.Internal;

namespace StemeDb.Sync;

/// <summary>
/// Set reconciliation with rateless coded symbols, the <c>ReconcileSymbols</c> extension (docs/PROTOCOL.md): the
/// initiator reads the peer's symbols a prefix at a time, subtracts its own and peels, until symbol 0 is empty. It
/// costs about 1.35 to 1.7 symbols (about 39 bytes each) per difference, and CPU in proportion to the difference:
/// both sides keep a prefix of their symbols up to date as leaves arrive (<see cref="MerkleIndex"/>). The responder
/// keeps no state: each answer names the snapshot of its set it describes, which the next request sends back.
/// </summary>
internal static class SymbolReconciler
{
    /// <summary>The algorithm version this implementation speaks.</summary>
    public const uint Version = 1;

    /// <summary>The symbols the first request asks for: enough to settle 0 to 2 differences in one exchange.</summary>
    public const uint FirstCount = 6;

    /// <summary>
    /// Answers one request from the <paramref name="local"/> index (the server side of <c>ReconcileSymbols</c>), from
    /// the symbols it keeps up to date only (O(count) per request, whatever the set).
    /// </summary>
    /// <exception cref="SyncRequestException">The request is malformed (<see cref="SyncStatusCode.InvalidArgument"/>), or asks for symbols past
    /// the kept prefix that lifting its ceiling would not bring in (<see cref="SyncStatusCode.ResourceExhausted"/>); nothing changes.</exception>
    public static ReconcileSymbolsResponse Respond(MerkleIndex local, ReconcileSymbolsRequest request)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (request.Version != Version)
        {
            throw Invalid($"version {request.Version} is not supported; this node speaks version {Version}.");
        }

        if (request.Count == 0 || request.Count > ReconcileSymbolsLimits.MaxSymbolsPerMessage)
        {
            throw Invalid($"count must be 1 to {ReconcileSymbolsLimits.MaxSymbolsPerMessage}; got {request.Count}.");
        }

        if (request.Start > (ulong)(ReconcileSymbolsLimits.MaxSymbols - request.Count))
        {
            throw Invalid($"symbols {request.Start} + {request.Count} go past the limit of {ReconcileSymbolsLimits.MaxSymbols}.");
        }

        long snapshot = request.Start == 0 ? local.BeginSymbols().Version : (long)Math.Min(request.Snapshot, long.MaxValue);
        // Symbols past the kept prefix would be computed from every leaf, O(n) per message: not served to callers. The
        // prefix's ceiling, though, is lifted once for a difference that needs more (O(n) once).
        if (request.Start + request.Count > (ulong)local.SketchLength && !local.TryExtendSymbols((long)(request.Start + request.Count)))
        {
            throw new SyncRequestException(
                SyncStatusCode.ResourceExhausted,
                $"ReconcileSymbols: this node serves the first {local.SketchLength} symbols of its set (0.15 to 0.3 per assertion); symbols {request.Start} + {request.Count} go past them. Use Reconcile or paged GetLeaves.");
        }

        var symbols = new CodedSymbol[request.Count];
        if (!local.TryGetSymbols(snapshot, (long)request.Start, symbols, out int countThen))
        {
            return new ReconcileSymbolsResponse(0, request.Snapshot, ReadOnlyMemory<byte>.Empty, true);
        }

        return new ReconcileSymbolsResponse((ulong)countThen, (ulong)snapshot, CodedSymbolCodec.Encode(symbols), false);
    }

    /// <summary>Runs a reconciliation from the <paramref name="local"/> index over one exchange per call of <paramref name="exchange"/>.</summary>
    /// <param name="local">The local leaf set.</param>
    /// <param name="exchange">Sends one request to the peer and returns its answer (one message each way of one stream).</param>
    /// <param name="cancellationToken">Cancels the reconciliation.</param>
    /// <returns>The differences, or why they could not be found this way (<see cref="ReconcileStatus.DecodeFailed"/>).</returns>
    /// <exception cref="SyncPeerException">A call failed, or the peer answered outside the protocol (<see cref="SyncStatusCode.InvalidResponse"/>).</exception>
    public static async ValueTask<ReconcileResult> ReconcileCoreAsync(
        MerkleIndex local,
        Func<ReconcileSymbolsRequest, CancellationToken, ValueTask<ReconcileSymbolsResponse>> exchange,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(exchange);
        (long localVersion, int localCount) = local.BeginSymbols();
        var decoder = new RibltDecoder(ReconcileSymbolsLimits.MaxSymbols);
        long bytes = 0;
        long largest = 0;
        int exchanges = 0;
        ulong snapshot = 0;
        ulong remoteCount = 0;
        uint count = FirstCount;
        long countGap = 0; // ours less theirs, known from the first answer
        SymbolDifferenceEstimate? estimate = null;
        var remote = new CodedSymbol[count];
        var mine = new CodedSymbol[count];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var request = new ReconcileSymbolsRequest(Version, (ulong)decoder.SymbolCount, count, snapshot);
            ReconcileSymbolsResponse response = await exchange(request, cancellationToken).ConfigureAwait(false);
            exchanges++;
            long requestBytes = RequestBytes(request);
            long responseBytes = ResponseBytes(response);
            bytes += requestBytes + responseBytes;
            largest = Math.Max(largest, Math.Max(requestBytes, responseBytes));
            if (response.SnapshotGone)
            {
                if (exchanges == 1)
                {
                    throw BadAnswer("the first answer lost its own snapshot");
                }

                return new ReconcileResult(ReconcileStatus.DecodeFailed, [], [], exchanges, 0, bytes, largest);
            }

            if (exchanges == 1)
            {
                snapshot = response.Snapshot;
                remoteCount = response.AssertionCount;
                countGap = localCount - (long)Math.Min(remoteCount, int.MaxValue);
                estimate = new SymbolDifferenceEstimate(countGap);
            }
            else if (response.Snapshot != snapshot || response.AssertionCount != remoteCount)
            {
                throw BadAnswer("an answer describes another snapshot than the first");
            }

            if (remote.Length < count)
            {
                remote = new CodedSymbol[count];
                mine = new CodedSymbol[count];
            }

            Span<CodedSymbol> theirs = remote.AsSpan(0, (int)count);
            if (!CodedSymbolCodec.TryDecode(response.Symbols.Span, theirs, out string? error))
            {
                throw BadAnswer(error!);
            }

            // Past its own kept prefix, the initiator lifts its ceiling too (O(n) once) rather than compute each message's
            // symbols from every leaf; when that is not possible they are computed.
            Span<CodedSymbol> ours = mine.AsSpan(0, (int)count);
            local.TryExtendSymbols(decoder.SymbolCount + (long)count);
            if (!local.TryGetSymbols(localVersion, decoder.SymbolCount, ours, out _))
            {
                return new ReconcileResult(ReconcileStatus.DecodeFailed, [], [], exchanges, 0, bytes, largest);
            }

            estimate!.Add(decoder.SymbolCount, theirs, ours);
            RibltDecodeStatus status = decoder.Add(theirs, ours);
            if (status == RibltDecodeStatus.Decoded)
            {
                return Reconciled(local, decoder, exchanges, bytes, largest);
            }

            if (status == RibltDecodeStatus.Failed || decoder.SymbolCount >= ReconcileSymbolsLimits.MaxSymbols || exchanges >= ReconcileSymbolsLimits.MaxExchanges)
            {
                return new ReconcileResult(ReconcileStatus.DecodeFailed, [], [], exchanges, 0, bytes, largest);
            }

            // The guess stays within the symbols any node of this library keeps for the peer's set (0.15 per assertion
            // or more), so that it never asks past them where growing a tenth at a time would have decoded below them.
            count = NextCount(decoder.SymbolCount, Math.Abs(countGap), estimate.Differences, (long)Math.Min(remoteCount, int.MaxValue) * 3 / 20);
        }
    }

    /// <summary>
    /// How many symbols to ask for next, <paramref name="received"/> being in hand: a tenth more in all, at least 8 (so
    /// that at most about a tenth are read past the point where decoding succeeds; the floor saves messages, about 22
    /// bytes of fields each, while few are in hand); at once about 1.4 per difference the counts alone prove
    /// (<paramref name="countGap"/>, the difference of the set sizes); and, to save messages, up to a share of the
    /// difference the received counts suggest (<paramref name="estimate"/>, see <see cref="SymbolDifferenceEstimate"/>):
    /// half of it while fewer than 16 symbols are in (the estimate is rough then), 0.9 of it after, below the 1.4 to 1.6
    /// per difference decoding takes, so that an estimate too high by half still reads few symbols past the point of
    /// decoding; and at most 16 times the symbols in hand and <paramref name="guessLimit"/> in all.
    /// </summary>
    internal static uint NextCount(int received, long countGap, double estimate = 0, long guessLimit = long.MaxValue)
    {
        long guess = (long)Math.Min(Math.Min(estimate * (received < 16 ? 0.5 : 0.9), 16.0 * received), guessLimit);
        long target = Math.Max(Math.Max(received + Math.Max(8, received / 10), (countGap * 7 / 5) + 8), guess);
        long wanted = Math.Min(target - received, ReconcileSymbolsLimits.MaxSymbols - received);
        return (uint)Math.Clamp(wanted, 1, ReconcileSymbolsLimits.MaxSymbolsPerMessage);
    }

    private static ReconcileResult Reconciled(MerkleIndex local, RibltDecoder decoder, int exchanges, long bytes, long largest)
    {
        (List<AssertionHash> localOnly, List<AssertionHash> remoteOnly) = decoder.Differences();
        if (localOnly.Count == 0 && remoteOnly.Count == 0)
        {
            return new ReconcileResult(ReconcileStatus.Identical, [], [], exchanges, 0, bytes, largest);
        }

        foreach (AssertionHash key in localOnly)
        {
            if (!local.Contains(key))
            {
                throw BadAnswer($"the symbols decoded {key} as held here, which it is not");
            }
        }

        var missingLocally = new List<AssertionHash>(remoteOnly.Count);
        foreach (AssertionHash key in remoteOnly)
        {
            if (!local.Contains(key))
            {
                missingLocally.Add(key); // otherwise it arrived meanwhile
            }
        }

        localOnly.Sort();
        missingLocally.Sort();
        return new ReconcileResult(
            ReconcileStatus.Reconciled, missingLocally, localOnly, exchanges, (ulong)(localOnly.Count + remoteOnly.Count), bytes, largest);
    }

    /// <summary>The request's protobuf size: four varint fields (zero fields are not sent).</summary>
    internal static long RequestBytes(ReconcileSymbolsRequest request) =>
        Field(request.Version) + Field(request.Start) + Field(request.Count) + Field(request.Snapshot);

    /// <summary>The answer's protobuf size.</summary>
    internal static long ResponseBytes(ReconcileSymbolsResponse response) =>
        Field(response.AssertionCount) + Field(response.Snapshot) + Field(response.SnapshotGone ? 1UL : 0UL)
        + (response.Symbols.Length == 0 ? 0 : 1 + CodedSymbolCodec.VarintLength((ulong)response.Symbols.Length) + response.Symbols.Length);

    private static int Field(ulong value) => value == 0 ? 0 : 1 + CodedSymbolCodec.VarintLength(value);

    private static SyncRequestException Invalid(string message) => new(SyncStatusCode.InvalidArgument, "ReconcileSymbols: " + message);

    private static SyncPeerException BadAnswer(string what) =>
        new(SyncStatusCode.InvalidResponse, $"The peer answered ReconcileSymbols outside the protocol: {what}.");
}

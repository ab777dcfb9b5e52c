using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Reconciliation.Internal;

namespace StemeDb.Sync;

/// <summary>
/// Set reconciliation of two nodes' leaf sets with the <c>Reconcile</c> extension (docs/PROTOCOL.md,
/// "Reconcile"): slice fingerprints locate and estimate the differences, then an invertible Bloom lookup table
/// over the differing slices lists them. Round 1 usually decides; a table that does not decode is retried
/// twice as large, for at most 4 rounds. The responder keeps no state between rounds.
/// </summary>
internal static class SetReconciler
{
    /// <summary>The algorithm version this implementation speaks.</summary>
    public const uint Version = 1;

    /// <summary>The most Reconcile calls one reconciliation makes.</summary>
    public const int MaxRounds = 4;

    private const int ScalarBytes = 24; // version, count, cells, salt, flags: an allowance per message

    /// <summary>Answers one round from the <paramref name="local"/> index (the server side of <c>Reconcile</c>).</summary>
    /// <param name="local">The local leaf set.</param>
    /// <param name="request">The raw round.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="SyncRequestException">The round is malformed (<see cref="SyncStatusCode.InvalidArgument"/>); nothing changes.</exception>
    public static ReconcileRoundResponse Respond(MerkleIndex local, ReconcileRoundRequest request)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (request.Version != Version)
        {
            throw Invalid($"version {request.Version} is not supported; this node speaks version {Version}.");
        }

        ulong count = (ulong)local.Count;
        byte[] bitmap;
        long cells;
        ulong estimate = 0;
        if (request.SliceFingerprints.Length > 0)
        {
            if (request.SliceFingerprints.Length != SliceLayout.FingerprintBlobBytes)
            {
                throw Invalid($"slice_fingerprints must be {SliceLayout.FingerprintBlobBytes} bytes; got {request.SliceFingerprints.Length}.");
            }

            if (request.Slices.Length != 0 || request.Cells != 0)
            {
                throw Invalid("a first round carries slice_fingerprints only (no slices, no cells).");
            }

            byte[] mine = SliceLayout.Fingerprints(local);
            ReadOnlySpan<byte> theirs = request.SliceFingerprints.Span;
            Span<int> mismatches = stackalloc int[SliceLayout.Levels];
            bitmap = new byte[SliceLayout.BitmapBytes];
            for (int level = 0; level < SliceLayout.Levels; level++)
            {
                for (int slice = 0; slice < SliceLayout.SlicesPerLevel; slice++)
                {
                    int offset = ((level * SliceLayout.SlicesPerLevel) + slice) * SliceLayout.FingerprintBytes;
                    if (!theirs.Slice(offset, SliceLayout.FingerprintBytes).SequenceEqual(mine.AsSpan(offset, SliceLayout.FingerprintBytes)))
                    {
                        mismatches[level]++;

                        // Finer levels lie inside top-level slice 0.
                        SliceLayout.Set(bitmap, level == 0 ? slice : 0);
                    }
                }
            }

            if (mismatches[0] == 0 && mismatches[1] == 0 && mismatches[2] == 0 && mismatches[3] == 0)
            {
                return new ReconcileRoundResponse(true, count, ReadOnlyMemory<byte>.Empty, 0, request.Salt, ReadOnlyMemory<byte>.Empty, false);
            }

            mismatches[0] = Math.Max(mismatches[0], 1);
            double estimated = DifferenceEstimator.Estimate(mismatches);
            cells = DifferenceEstimator.CellsFor(estimated);
            estimate = double.IsInfinity(estimated) || estimated > ulong.MaxValue / 2 ? ulong.MaxValue : (ulong)Math.Round(estimated);
            if (cells > DifferenceEstimator.MaxCells)
            {
                return new ReconcileRoundResponse(false, count, bitmap, estimate, request.Salt, ReadOnlyMemory<byte>.Empty, true);
            }
        }
        else
        {
            if (request.Slices.Length != SliceLayout.BitmapBytes || !request.Slices.Span.ContainsAnyExcept((byte)0))
            {
                throw Invalid($"a retry round needs a non-empty {SliceLayout.BitmapBytes}-byte slices bitmap; got {request.Slices.Length} bytes.");
            }

            if (request.Cells == 0 || request.Cells % Iblt.HashCount != 0 || request.Cells > DifferenceEstimator.MaxCells)
            {
                throw Invalid($"cells must be a positive multiple of {Iblt.HashCount} up to {DifferenceEstimator.MaxCells}; got {request.Cells}.");
            }

            bitmap = request.Slices.ToArray();
            cells = request.Cells;
        }

        var table = new Iblt((int)cells, request.Salt);
        table.AddSlices(local, bitmap);
        return new ReconcileRoundResponse(false, count, bitmap, estimate, request.Salt, table.ToBytes(), false);
    }

    /// <param name="local">The local leaf set.</param>
    /// <param name="round">Sends one round to the peer.</param>
    /// <param name="cancellationToken">Cancels the reconciliation.</param>
    /// <param name="newSalt">Where the table salts come from; cryptographically random when <see langword="null"/> (a
    /// seeded source only for reproducible simulations: a peer that can predict the salt can craft colliding leaves).</param>
    internal static async ValueTask<ReconcileResult> ReconcileCoreAsync(
        MerkleIndex local,
        Func<ReconcileRoundRequest, CancellationToken, ValueTask<ReconcileRoundResponse>> round,
        CancellationToken cancellationToken,
        Func<ulong>? newSalt = null)
    {
        newSalt ??= NewSalt;
        ulong salt = newSalt();
        byte[] fingerprints = SliceLayout.Fingerprints(local);
        var request = new ReconcileRoundRequest(Version, (ulong)local.Count, fingerprints, ReadOnlyMemory<byte>.Empty, 0, salt);
        long bytes = fingerprints.Length + ScalarBytes;
        ReconcileRoundResponse response = await round(request, cancellationToken).ConfigureAwait(false);
        bytes += response.Slices.Length + response.Table.Length + ScalarBytes;
        int rounds = 1;
        ulong estimate = response.EstimatedDifferences;
        if (response.Identical)
        {
            return new ReconcileResult(ReconcileStatus.Identical, [], [], rounds, 0, bytes);
        }

        if (response.Slices.Length != SliceLayout.BitmapBytes || !response.Slices.Span.ContainsAnyExcept((byte)0))
        {
            throw BadAnswer($"the slices bitmap is {response.Slices.Length} bytes or empty; {SliceLayout.BitmapBytes} non-zero bytes were expected");
        }

        byte[] bitmap = response.Slices.ToArray();
        if (response.TooManyDifferences)
        {
            return new ReconcileResult(ReconcileStatus.TooManyDifferences, [], [], rounds, estimate, bytes);
        }

        while (true)
        {
            int cells = CheckTable(response, salt);
            var table = new Iblt(cells, salt);
            table.AddSlices(local, bitmap);
            table.Subtract(response.Table.Span);
            var localOnly = new List<AssertionHash>();
            var remoteOnly = new List<AssertionHash>();
            if (table.TryPeel(localOnly, remoteOnly))
            {
                return Reconciled(local, bitmap, localOnly, remoteOnly, rounds, estimate, bytes);
            }

            if (rounds >= MaxRounds || cells >= DifferenceEstimator.MaxCells)
            {
                return new ReconcileResult(ReconcileStatus.DecodeFailed, [], [], rounds, estimate, bytes);
            }

            cancellationToken.ThrowIfCancellationRequested();
            salt = newSalt();
            long wanted = Math.Max(2L * cells, 2 * Math.Min(DifferenceEstimator.MaxCells, DifferenceEstimator.CellsFor(Math.Max(estimate, (ulong)(localOnly.Count + remoteOnly.Count)))));
            uint next = (uint)Math.Min(wanted, DifferenceEstimator.MaxCells);
            request = new ReconcileRoundRequest(Version, (ulong)local.Count, ReadOnlyMemory<byte>.Empty, bitmap, next, salt);
            bytes += bitmap.Length + ScalarBytes;
            response = await round(request, cancellationToken).ConfigureAwait(false);
            bytes += response.Slices.Length + response.Table.Length + ScalarBytes;
            rounds++;
            if (response.Identical || response.TooManyDifferences || !response.Slices.Span.SequenceEqual(bitmap) || response.Table.Length != next * Iblt.CellBytes)
            {
                throw BadAnswer("a retry round was not answered with a table of the requested slices and size");
            }
        }
    }

    private static ReconcileResult Reconciled(
        MerkleIndex local, byte[] bitmap, List<AssertionHash> localOnly, List<AssertionHash> remoteOnly, int rounds, ulong estimate, long bytes)
    {
        foreach (AssertionHash key in localOnly)
        {
            if (!SliceLayout.IsSet(bitmap, SliceLayout.TopSlice(key)) || !local.Contains(key))
            {
                throw BadAnswer($"the table decoded {key} as held here, which it is not");
            }
        }

        var missingLocally = new List<AssertionHash>(remoteOnly.Count);
        foreach (AssertionHash key in remoteOnly)
        {
            if (!SliceLayout.IsSet(bitmap, SliceLayout.TopSlice(key)))
            {
                throw BadAnswer($"the table decoded {key}, outside the covered slices");
            }

            if (!local.Contains(key))
            {
                missingLocally.Add(key); // otherwise it arrived meanwhile
            }
        }

        localOnly.Sort();
        missingLocally.Sort();
        return new ReconcileResult(ReconcileStatus.Reconciled, missingLocally, localOnly, rounds, estimate, bytes);
    }

    private static int CheckTable(ReconcileRoundResponse response, ulong salt)
    {
        int length = response.Table.Length;
        if (length == 0 || length % Iblt.CellBytes != 0)
        {
            throw BadAnswer($"the table is {length} bytes, not a positive multiple of {Iblt.CellBytes}");
        }

        int cells = length / Iblt.CellBytes;
        if (cells % Iblt.HashCount != 0 || cells > DifferenceEstimator.MaxCells)
        {
            throw BadAnswer($"the table has {cells} cells; a positive multiple of {Iblt.HashCount} up to {DifferenceEstimator.MaxCells} was expected");
        }

        if (response.Salt != salt)
        {
            throw BadAnswer("the table was built with another salt than requested");
        }

        return cells;
    }

    private static ulong NewSalt()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    private static SyncRequestException Invalid(string message) => new(SyncStatusCode.InvalidArgument, "Reconcile: " + message);

    private static SyncPeerException BadAnswer(string what) =>
        new(SyncStatusCode.InvalidResponse, $"The peer answered Reconcile outside the protocol: {what}.");
}

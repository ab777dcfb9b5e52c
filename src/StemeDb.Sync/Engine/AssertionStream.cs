using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync;

/// <summary>
/// Bulk export and import of assertions as an assertion stream (docs/STREAM-FORMAT.md): a versioned header, then one
/// record per assertion (hash, HLC timestamp, length-prefixed bytes), then an end marker holding the record count, so
/// that a truncated stream is detected. For backup and restore, seeding a new node from a file, and moving between stores.
/// </summary>
/// <remarks>
/// <para>
/// Reading is bounded: a record's declared length is checked against the limit before its bytes are awaited, and an
/// import holds at most one batch (1,024 records, ended early once their data reaches 4 MiB) while the node stores it;
/// the source is not read meanwhile, so a fast source waits for the store (back-pressure). Every record is verified like one received from a
/// peer (the clock drift bound, the size, the content validator, BLAKE3(data) == hash) before anything of it is stored.
/// </para>
/// <para>
/// A stream that is corrupt or truncated, or a record that fails verification, stops the import with an
/// <see cref="AssertionStreamException"/> naming the byte offset of the failing part; every record before it has been
/// stored (<see cref="AssertionStreamException.Committed"/>), none from it on.
/// </para>
/// </remarks>
[SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Each overload takes a different source or destination; all keep the usual optional progress and CancellationToken.")]
public static class AssertionStream
{
    /// <summary>The most records one import batch holds.</summary>
    internal const int ImportBatchRecords = RecordBatch.MaxRecords;

    /// <summary>The most data bytes one import batch holds (a batch also ends at <see cref="ImportBatchRecords"/>).</summary>
    internal const int ImportBatchBytes = RecordBatch.MaxBytes;

    /// <summary>The buffer segments of a pipe over a <see cref="Stream"/>: fewer reads and fewer records split across segments than the default 4 KiB.</summary>
    private const int StreamBufferBytes = 64 * 1024;

    /// <summary>How many records a push or an export reads or writes between progress reports.</summary>
    private const int ProgressInterval = 1000;

    /// <summary>Writes every assertion of a store to <paramref name="destination"/>, ending with the end marker, and flushes.</summary>
    /// <param name="store">The store; assertions put while the export runs may or may not be included.</param>
    /// <param name="destination">Where the stream goes; it is flushed but not completed.</param>
    /// <param name="progress">Told the records and bytes written, every 1,000 records and at the end; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export; the stream then has no end marker.</param>
    /// <returns>The number of records written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> or <paramref name="destination"/> is <see langword="null"/>.</exception>
    public static async ValueTask<long> ExportAsync(
        IAssertionStore store, PipeWriter destination, IProgress<AssertionStreamProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(destination);
        var writer = new AssertionStreamWriter(destination);
        var chunk = new List<AssertionHash>(SyncProtocol.MaxFetchHashes);
        await foreach (AssertionHash hash in store.EnumerateHashesAsync(cancellationToken).ConfigureAwait(false))
        {
            chunk.Add(hash);
            if (chunk.Count == SyncProtocol.MaxFetchHashes)
            {
                await WriteAsync(writer, await store.GetManyAsync(chunk, cancellationToken).ConfigureAwait(false), progress, cancellationToken).ConfigureAwait(false);
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            await WriteAsync(writer, await store.GetManyAsync(chunk, cancellationToken).ConfigureAwait(false), progress, cancellationToken).ConfigureAwait(false);
        }

        return await CompleteAsync(writer, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes every assertion of a store to <paramref name="destination"/>, ending with the end marker, and flushes.</summary>
    /// <param name="store">The store; assertions put while the export runs may or may not be included.</param>
    /// <param name="destination">Where the stream goes; it is flushed and left open.</param>
    /// <param name="progress">Told the records and bytes written, every 1,000 records and at the end; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export; the stream then has no end marker.</param>
    /// <returns>The number of records written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> or <paramref name="destination"/> is <see langword="null"/>.</exception>
    public static async ValueTask<long> ExportAsync(
        IAssertionStore store, Stream destination, IProgress<AssertionStreamProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(destination);
        PipeWriter pipe = PipeWriter.Create(destination, new StreamPipeWriterOptions(minimumBufferSize: StreamBufferBytes, leaveOpen: true));
        try
        {
            return await ExportAsync(store, pipe, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes every assertion a peer holds to <paramref name="destination"/>, in hash order: by one <c>StreamAssertions</c>
    /// call when the peer has the extension, otherwise (it answers <c>UNIMPLEMENTED</c>) with the same calls a node's
    /// anti-entropy pass makes: paged <c>GetLeaves</c>, then <c>FetchAssertions</c> in batches of 1,000. Each
    /// record's hash is checked against its bytes before it is written; a record a v1 peer sent without a timestamp is
    /// written with none (an importing node stamps it, as it stamps such a record fetched from a peer).
    /// </summary>
    /// <param name="peer">The peer; its calls run under its own deadline (for gRPC, <c>GrpcSyncPeerOptions.Deadline</c>) and <paramref name="cancellationToken"/>.</param>
    /// <param name="destination">Where the stream goes; it is flushed but not completed.</param>
    /// <param name="progress">Told the records and bytes written, after each batch and at the end; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the export; the stream then has no end marker.</param>
    /// <returns>The number of records written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="peer"/> or <paramref name="destination"/> is <see langword="null"/>.</exception>
    /// <exception cref="SyncPeerException">A call failed or was answered outside the protocol (a streamed record out of hash
    /// order, a malformed stream), a record's bytes do not match its hash (<see cref="SyncStatusCode.InvalidResponse"/>), or the peer is a v1 node holding more than one page of leaves
    /// (<see cref="SyncStatusCode.Unimplemented"/>: it cannot list the rest). The stream then has no end marker.</exception>
    public static async ValueTask<long> ExportAsync(
        ISyncPeer peer, PipeWriter destination, IProgress<AssertionStreamProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(destination);
        var calls = new PeerCalls(peer, Timeout.InfiniteTimeSpan, TimeProvider.System);
        RemoteLeafPager pager = PeerDiff.Pager(calls, SyncProtocol.MaxLeavesPerPage);
        var writer = new AssertionStreamWriter(destination);
        if (await PeerStreamExport.TryExportAsync(calls, writer, progress, cancellationToken).ConfigureAwait(false))
        {
            return await CompleteAsync(writer, progress, cancellationToken).ConfigureAwait(false);
        }

        AssertionHash? cursor = null;
        while (true)
        {
            LeavesPage page = await pager(cursor, cancellationToken).ConfigureAwait(false)
                ?? throw new SyncPeerException(
                    SyncStatusCode.Unimplemented,
                    $"Peer '{peer.Name}' lists only its first {SyncProtocol.MaxLeavesPerPage} leaves (a v1 node without the GetLeaves cursor), so the rest of its assertions cannot be exported.");

            // One fetch ahead: the next batch is on the wire while this one is written.
            Task<IReadOnlyList<AssertionRecord>>? next = null;
            for (int start = 0; start < page.Leaves.Count; start += SyncProtocol.MaxFetchHashes)
            {
                Task<IReadOnlyList<AssertionRecord>> current = next ?? FetchAsync(calls, page.Leaves, start, cancellationToken);
                int following = start + SyncProtocol.MaxFetchHashes;
                next = following < page.Leaves.Count ? FetchAsync(calls, page.Leaves, following, cancellationToken) : null;
                IReadOnlyList<AssertionRecord> records;
                try
                {
                    records = await current.ConfigureAwait(false);
                }
                catch
                {
                    await ObserveAsync(next).ConfigureAwait(false);
                    throw;
                }

                foreach (AssertionRecord record in records)
                {
                    if (!record.Hash.Matches(record.Data.Span))
                    {
                        await ObserveAsync(next).ConfigureAwait(false);
                        throw new SyncPeerException(
                            SyncStatusCode.InvalidResponse, $"Peer '{peer.Name}' answered bytes for {record.Hash} that do not hash to it.");
                    }

                    await writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                }

                progress?.Report(new AssertionStreamProgress(writer.Count, writer.Bytes));
            }

            if (!page.Truncated)
            {
                break;
            }

            if (page.Leaves.Count == 0)
            {
                throw new SyncPeerException(SyncStatusCode.InvalidResponse, $"Peer '{peer.Name}' answered an empty page of leaves marked truncated.");
            }

            cursor = page.Leaves[^1];
        }

        return await CompleteAsync(writer, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads an assertion stream into a node, in batches: each record is verified like one received from a peer, and
    /// stored with its timestamp through the node's bulk ingest path (one <see cref="IAssertionStore.PutManyAsync"/> per
    /// batch, as <see cref="SyncNode.IngestManyAsync"/>); the clock observes every stored timestamp, and new assertions are
    /// gossiped like any other. Records the node already holds are counted but not added again.
    /// </summary>
    /// <param name="source">The stream; read to its end (the end marker and nothing after it), but not completed.</param>
    /// <param name="node">A running node.</param>
    /// <param name="progress">Told the records stored and the bytes read, after each batch; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the import; the batches stored before it stay stored.</param>
    /// <returns>The records read and stored, those of them new to the node, and the bytes read.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="node"/> is <see langword="null"/>.</exception>
    /// <exception cref="AssertionStreamException">The stream is corrupt or truncated, or a record failed verification:
    /// every record before it was stored, none from it on.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public static async ValueTask<AssertionImportResult> ImportAsync(
        PipeReader source, SyncNode node, IProgress<AssertionStreamProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(node);
        var reader = new AssertionStreamReader(source, node.MaxAssertionBytes);

        // Every store takes the records from the batch's reusable buffer (no allocation per record): a synchronous-put
        // store copies them as it puts them, any other gets them lent for one PutManyAsync call and copies what it keeps.
        const bool intoBatchBuffer = true;
        int batchRecords = node.ImportBatchRecords;
        var batch = new RecordBatch(batchRecords);
        long committed = 0, added = 0;

        async ValueTask StoreBatchAsync()
        {
            if (batch.Count == 0)
            {
                return;
            }

            ReceivedBatch outcome = await node.ReceiveManyAsync(batch.Records, cancellationToken).ConfigureAwait(false);
            committed += outcome.Stored;
            added += outcome.Added;
            if (outcome.Rejection is { } rejection)
            {
                throw new AssertionStreamException(
                    batch.OffsetOf(outcome.Stored), reader.Count - batch.Count + outcome.Stored, "the record failed verification: " + rejection.TrimEnd('.'), committed);
            }

            batch.Clear();
            progress?.Report(new AssertionStreamProgress(committed, reader.Offset));
        }

        bool more = true;
        while (more)
        {
            try
            {
                more = await reader.ReadBatchAsync(batch, batchRecords, ImportBatchBytes, intoBatchBuffer, cancellationToken).ConfigureAwait(false);
            }
            catch (AssertionStreamException ex)
            {
                await StoreBatchAsync().ConfigureAwait(false); // the records before the failure are whole: verify and store them
                throw ex.WithCommitted(committed);
            }

            await StoreBatchAsync().ConfigureAwait(false);
        }

        return new AssertionImportResult(committed, added, 0, reader.Offset);
    }

    /// <summary>Reads an assertion stream into a node (see <see cref="ImportAsync(PipeReader, SyncNode, IProgress{AssertionStreamProgress}?, CancellationToken)"/>).</summary>
    /// <param name="source">The stream; read to its end and left open.</param>
    /// <param name="node">A running node.</param>
    /// <param name="progress">Told the records stored and the bytes read, after each batch; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the import; the batches stored before it stay stored.</param>
    /// <returns>The records read and stored, those of them new to the node, and the bytes read.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="node"/> is <see langword="null"/>.</exception>
    /// <exception cref="AssertionStreamException">The stream is corrupt or truncated, or a record failed verification:
    /// every record before it was stored, none from it on.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public static async ValueTask<AssertionImportResult> ImportAsync(
        Stream source, SyncNode node, IProgress<AssertionStreamProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(node);
        PipeReader pipe = PipeReader.Create(source, new StreamPipeReaderOptions(bufferSize: StreamBufferBytes, minimumReadSize: StreamBufferBytes / 4, leaveOpen: true));
        try
        {
            return await ImportAsync(pipe, node, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Pushes an assertion stream to a peer, which verifies and stores each record as it does any push: in
    /// <c>GossipBatch</c> calls of at most 1,000 assertions and 3 MiB, two in flight, or unary <c>Gossip</c> to a v1 peer
    /// (the same pushes as a node's anti-entropy pass). Each record's hash is checked against its bytes before it is sent.
    /// </summary>
    /// <param name="source">The stream; read to its end (the end marker and nothing after it), but not completed.</param>
    /// <param name="peer">The peer; its calls run under its own deadline (for gRPC, <c>GrpcSyncPeerOptions.Deadline</c>) and <paramref name="cancellationToken"/>.</param>
    /// <param name="progress">Told the records answered by the peer and the bytes read, every 1,000 records and at the end; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the push; what the peer accepted stays stored there.</param>
    /// <returns>The records read, those the peer accepted and refused, and the bytes read.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="peer"/> is <see langword="null"/>.</exception>
    /// <exception cref="AssertionStreamException">The stream is corrupt or truncated, or a record's bytes do not match its
    /// hash: nothing from that record on was sent, and <see cref="AssertionStreamException.Committed"/> records were accepted.</exception>
    /// <exception cref="SyncPeerException">A call to the peer failed.</exception>
    public static async ValueTask<AssertionImportResult> PushAsync(
        PipeReader source, ISyncPeer peer, IProgress<AssertionStreamProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(peer);
        var push = new BulkPush(new PeerCalls(peer, Timeout.InfiniteTimeSpan, TimeProvider.System), onRejected: null);
        var reader = new AssertionStreamReader(source, new SyncNodeOptions().MaxAssertionBytes);
        try
        {
            while (true)
            {
                AssertionRecord? record;
                try
                {
                    record = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (AssertionStreamException ex)
                {
                    await push.CompleteAsync(cancellationToken).ConfigureAwait(false); // the records before the failure are whole
                    throw ex.WithCommitted(push.Outcome.Pushed);
                }

                if (record is null)
                {
                    break;
                }

                if (!record.Hash.Matches(record.Data.Span))
                {
                    await push.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    throw new AssertionStreamException(
                        reader.RecordOffset, reader.Count - 1, $"the record's bytes do not hash to {record.Hash}", push.Outcome.Pushed);
                }

                await push.AddAsync(record, cancellationToken).ConfigureAwait(false);
                if (reader.Count % ProgressInterval == 0)
                {
                    progress?.Report(new AssertionStreamProgress(push.Outcome.Pushed + push.Outcome.Rejected, reader.Offset));
                }
            }

            await push.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await push.AbandonAsync().ConfigureAwait(false);
        }

        PushOutcome outcome = push.Outcome;
        progress?.Report(new AssertionStreamProgress(outcome.Pushed + outcome.Rejected, reader.Offset));
        return new AssertionImportResult(reader.Count, outcome.Pushed, outcome.Rejected, reader.Offset);
    }

    private static async ValueTask WriteAsync(
        AssertionStreamWriter writer, IReadOnlyList<AssertionRecord> records, IProgress<AssertionStreamProgress>? progress, CancellationToken cancellationToken)
    {
        foreach (AssertionRecord record in records)
        {
            await writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
        }

        progress?.Report(new AssertionStreamProgress(writer.Count, writer.Bytes));
    }

    private static async ValueTask<long> CompleteAsync(AssertionStreamWriter writer, IProgress<AssertionStreamProgress>? progress, CancellationToken cancellationToken)
    {
        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report(new AssertionStreamProgress(writer.Count, writer.Bytes));
        return writer.Count;
    }

    private static Task<IReadOnlyList<AssertionRecord>> FetchAsync(PeerCalls calls, IReadOnlyList<AssertionHash> leaves, int start, CancellationToken cancellationToken)
    {
        var chunk = new AssertionHash[Math.Min(SyncProtocol.MaxFetchHashes, leaves.Count - start)];
        for (int i = 0; i < chunk.Length; i++)
        {
            chunk[i] = leaves[start + i];
        }

        return calls.FetchAsync(chunk, cancellationToken).AsTask();
    }

    /// <summary>Waits for a fetch that is no longer wanted, so that it faults observed.</summary>
    private static async ValueTask ObserveAsync(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The first failure is already propagating.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}

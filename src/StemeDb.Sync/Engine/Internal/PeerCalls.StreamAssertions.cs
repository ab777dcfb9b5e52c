using System;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>Stores (or otherwise takes) a batch of streamed records; answers like <see cref="IncomingAssertions.ReceiveManyAsync"/>.</summary>
internal delegate ValueTask<ReceivedBatch> StreamedBatchReceiver(ReadOnlyMemory<UnverifiedRecord> records, CancellationToken cancellationToken);

/// <summary>What a streaming pull has done so far; kept up to date batch by batch, so that it is known after a failure too.</summary>
internal sealed class StreamPullProgress
{
    /// <summary>Records verified and stored (new or already held).</summary>
    public long Stored { get; set; }

    /// <summary>Records among <see cref="Stored"/> that were new here.</summary>
    public long Added { get; set; }

    /// <summary>The data bytes of the records stored.</summary>
    public long Bytes { get; set; }

    /// <summary>Records that failed verification (refused and skipped, like a fetched record that fails).</summary>
    public long Rejected { get; set; }

    /// <summary>Chunks received.</summary>
    public long Chunks { get; set; }

    /// <summary>Every hash up to this one was stored or refused: where a broken pull resumes.</summary>
    public AssertionHash? ResumeAfter { get; set; }
}

internal sealed partial class PeerCalls
{
    private const string StreamRpc = "StreamAssertions";

    /// <summary>
    /// Reads the peer's assertion stream after <paramref name="startAfter"/> and hands its records, in batches of at most
    /// 1,024 records or 4 MiB, to <paramref name="receive"/>, which verifies and stores them. The chunks are moved by a
    /// second loop into a bounded pipe (two chunks): the peer is held back (the transport's flow control) while the pipe
    /// is full. Both loops resume inline (no thread-pool hop), so a run over a deterministic schedule stays deterministic. Each wait for a chunk runs under the per-call
    /// deadline, and the whole stream under <see cref="SyncNodeOptions.MaxStreamPullDuration"/>: a peer that trickles
    /// chunks cannot hold the pull forever (what arrived stays stored, and the next pass resumes after it).
    /// </summary>
    /// <remarks>
    /// Every whole record that arrived before a failure of the call is handed on before the failure is thrown. Checked
    /// here, before anything of a record is used: every chunk is 1 byte to 1 MiB; the bytes form one well-formed
    /// assertion stream (header, records with lengths within <paramref name="maxRecordBytes"/>, the end marker with the
    /// right count, nothing after it); hashes strictly ascend, starting after the cursor; no more records than
    /// <paramref name="maxRecords"/>. A violation fails the call with <see cref="SyncStatusCode.InvalidResponse"/>; the
    /// records before the violating one are handed on first. A record that fails verification is refused, counted in
    /// <see cref="StreamPullProgress.Rejected"/> and passed to <paramref name="onRejected"/>, and the rest go on.
    /// </remarks>
    public async ValueTask StreamAsync(
        AssertionHash? startAfter,
        ulong maxRecords,
        int maxRecordBytes,
        bool intoBatchBuffer,
        StreamedBatchReceiver receive,
        StreamPullProgress progress,
        Action<string>? onRejected,
        CancellationToken cancellationToken)
    {
        var pipe = new Pipe(new PipeOptions(
            pauseWriterThreshold: 2L * SyncProtocol.MaxStreamChunkBytes,
            resumeWriterThreshold: SyncProtocol.MaxStreamChunkBytes,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            minimumSegmentSize: 64 * 1024,
            useSynchronizationContext: false));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var call = new StrongBox<Exception?>();
        Task pump = PumpAsync(startAfter, maxRecords, pipe.Writer, progress, call, stop.Token);
        try
        {
            await ReadStreamAsync(pipe.Reader, call, startAfter, maxRecords, maxRecordBytes, intoBatchBuffer, receive, progress, onRejected, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            await ObserveAsync(pump).ConfigureAwait(false);
            throw;
        }

        await pipe.Reader.CompleteAsync().ConfigureAwait(false);
        await pump.ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the peer's chunks into the pipe, then completes it. A failure of the call is kept in <paramref name="failure"/>
    /// before the pipe is completed (normally): the reader first takes every whole record that arrived, then finds the
    /// stream cut short and reports the call's failure instead.
    /// </summary>
    private async Task PumpAsync(
        AssertionHash? startAfter, ulong maxRecords, PipeWriter writer, StreamPullProgress progress, StrongBox<Exception?> failure, CancellationToken stop)
    {
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        using var overall = new CancellationTokenSource(_streamDeadline, _timeProvider);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(stop, idle.Token, overall.Token);
        try
        {
            idle.CancelAfter(_timeout);
            IAsyncEnumerator<ReadOnlyMemory<byte>> chunks = Peer.StreamAssertionsAsync(startAfter, maxRecords, call.Token).GetAsyncEnumerator(call.Token);
            await using (chunks.ConfigureAwait(false))
            {
                while (true)
                {
                    idle.CancelAfter(_timeout);
                    bool more = await chunks.MoveNextAsync().ConfigureAwait(false);
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                    if (!more)
                    {
                        break;
                    }

                    ReadOnlyMemory<byte> chunk = chunks.Current;
                    if (chunk.Length is 0 or > SyncProtocol.MaxStreamChunkBytes)
                    {
                        throw InvalidResponse(StreamRpc, $"chunk {progress.Chunks} is {chunk.Length} bytes; a chunk is 1 to {SyncProtocol.MaxStreamChunkBytes} bytes");
                    }

                    progress.Chunks++;
                    FlushResult flushed = await writer.WriteAsync(chunk, stop).ConfigureAwait(false);
                    if (flushed.IsCompleted)
                    {
                        break; // the reader stopped (it failed, or the stream ended before this chunk)
                    }
                }
            }
        }
        catch (Exception ex) when (overall.IsCancellationRequested && !idle.IsCancellationRequested && !stop.IsCancellationRequested
            && ex is OperationCanceledException or SyncPeerException { Code: SyncStatusCode.Unavailable })
        {
            failure.Value = new SyncPeerException(
                SyncStatusCode.DeadlineExceeded,
                $"{StreamRpc} from {Name} ran past its overall deadline ({_streamDeadline}); the next pass resumes after what arrived.",
                ex);
        }
        catch (Exception ex) when (idle.IsCancellationRequested && !stop.IsCancellationRequested
            && ex is OperationCanceledException or SyncPeerException { Code: SyncStatusCode.Unavailable })
        {
            failure.Value = new SyncPeerException(
                SyncStatusCode.DeadlineExceeded,
                $"{StreamRpc} from {Name} sent no chunk within the per-call deadline ({_timeout}).",
                ex);
        }
#pragma warning disable CA1031 // Not swallowed: the reader rethrows it from the pipe.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure.Value = ex;
        }

        await writer.CompleteAsync().ConfigureAwait(false);
    }

    private async ValueTask ReadStreamAsync(
        PipeReader source,
        StrongBox<Exception?> call,
        AssertionHash? startAfter,
        ulong maxRecords,
        int maxRecordBytes,
        bool intoBatchBuffer,
        StreamedBatchReceiver receive,
        StreamPullProgress progress,
        Action<string>? onRejected,
        CancellationToken cancellationToken)
    {
        var reader = new AssertionStreamReader(source, maxRecordBytes);
        var batch = new RecordBatch(RecordBatch.MaxRecords);
        AssertionHash? previous = startAfter;
        bool more = true;
        while (more)
        {
            Exception? failure = null;
            try
            {
                more = await reader.ReadBatchAsync(batch, RecordBatch.MaxRecords, RecordBatch.MaxBytes, intoBatchBuffer, cancellationToken).ConfigureAwait(false);
            }
            catch (AssertionStreamException ex)
            {
                // Cut short because the call failed (the peer went away, a chunk outside the protocol, the deadline), or
                // bytes that are not a well-formed stream.
                failure = call.Value ?? InvalidResponse(StreamRpc, $"the assertion stream is malformed: {ex.Message.TrimEnd('.')}");
                more = false;
            }

            // The records parsed before any failure are whole: check their order, then verify and store them.
            int usable = batch.Count;
            for (int i = 0; i < batch.Count; i++)
            {
                AssertionHash hash = batch.Records.Span[i].Hash;
                if (previous is { } before && hash <= before)
                {
                    usable = i;
                    failure = InvalidResponse(StreamRpc, startAfter is not null && i == 0 && progress.Stored + progress.Rejected == 0
                        ? $"the first record ({hash}) is not after the cursor ({startAfter})"
                        : $"record {progress.Stored + progress.Rejected + i} ({hash}) is not after the one before it ({before}): the records are not in ascending hash order");
                    break;
                }

                previous = hash;
            }

            if (maxRecords != 0 && (ulong)(progress.Stored + progress.Rejected + usable) > maxRecords)
            {
                usable = (int)(maxRecords - (ulong)(progress.Stored + progress.Rejected));
                failure = InvalidResponse(StreamRpc, $"more than the {maxRecords} records asked for were sent");
            }

            await ReceiveAsync(batch, usable, receive, progress, onRejected, cancellationToken).ConfigureAwait(false);
            batch.Clear();
            if (failure is not null)
            {
                ExceptionDispatchInfo.Throw(failure);
            }
        }

        if (call.Value is { } late)
        {
            ExceptionDispatchInfo.Throw(late); // the stream was whole, but the call still ended with a failure
        }
    }

    /// <summary>Hands the first <paramref name="count"/> records on; one that fails verification is skipped, and the rest go on.</summary>
    private static async ValueTask ReceiveAsync(
        RecordBatch batch, int count, StreamedBatchReceiver receive, StreamPullProgress progress, Action<string>? onRejected, CancellationToken cancellationToken)
    {
        int offset = 0;
        while (offset < count)
        {
            ReadOnlyMemory<UnverifiedRecord> slice = batch.Records[offset..count];
            ReceivedBatch outcome = await receive(slice, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < outcome.Stored; i++)
            {
                progress.Bytes += slice.Span[i].Data.Length;
            }

            progress.Stored += outcome.Stored;
            progress.Added += outcome.Added;
            offset += outcome.Stored;
            if (outcome.Stored > 0)
            {
                progress.ResumeAfter = slice.Span[outcome.Stored - 1].Hash;
            }

            if (outcome.Rejection is { } reason && outcome.Stored < slice.Length)
            {
                progress.Rejected++;
                progress.ResumeAfter = slice.Span[outcome.Stored].Hash;
                onRejected?.Invoke(reason);
                offset++;
            }
        }
    }

    /// <summary>Waits for the pump after a failure here, so that it faults observed.</summary>
    private static async ValueTask ObserveAsync(Task task)
    {
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

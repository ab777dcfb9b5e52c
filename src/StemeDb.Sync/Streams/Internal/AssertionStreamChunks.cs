using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// The server side of <c>StreamAssertions</c>: a node's assertions in ascending hash order, strictly after a cursor,
/// written as one assertion stream (<see cref="AssertionStreamWriter"/>) and cut into chunks of <see cref="ChunkBytes"/>
/// (the protocol allows up to <see cref="SyncProtocol.MaxStreamChunkBytes"/>); a record may span chunks. The index is
/// listed up to 1,000 hashes at a time, and the store read up to a byte budget at a time (the node's
/// <see cref="SyncNodeOptions.MaxAnswerBytes"/>), only as the caller takes chunks: a slow caller holds the reads back,
/// and memory stays at one budget's worth of records and a chunk or two, whatever the records' sizes.
/// </summary>
internal static class AssertionStreamChunks
{
    /// <summary>
    /// The size of every chunk but the last: 64 KiB, below the .NET large-object threshold (85,000 bytes), so that the
    /// buffer a receiver's transport allocates for each message is short-lived garbage, not large-object heap.
    /// </summary>
    public const int ChunkBytes = 64 * 1024;

    /// <summary>Leaves listed and records read from the store at once.</summary>
    private const int PageSize = SyncProtocol.MaxFetchHashes;

    /// <summary>
    /// The chunks; each is valid until the enumerator moves on. Assertions added while the stream runs are included when
    /// their hash is after the page being read. Counts the assertion bytes sent (<c>stemedb.sync.bytes.sent</c>, kind <c>stream</c>).
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(
        MerkleIndex index, IAssertionStore store, AssertionHash? startAfter, ulong maxRecords, int maxPageBytes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new ChunkBuffer(2 * ChunkBytes);
        var writer = new AssertionStreamWriter(buffer);
        ulong remaining = maxRecords == 0 ? ulong.MaxValue : maxRecords;
        AssertionHash? cursor = startAfter;
        long dataBytes = 0;
        try
        {
            while (remaining > 0)
            {
                int page = (int)Math.Min((ulong)PageSize, remaining);
                IReadOnlyList<AssertionHash> hashes = index.GetLeaves(cursor, page);
                if (hashes.Count == 0)
                {
                    break;
                }

                IReadOnlyList<AssertionRecord> records = await store.GetManyWithinAsync(hashes, maxPageBytes, cancellationToken).ConfigureAwait(false);

                // When the store stopped at the budget (it answers at least one record), the next page starts after the
                // last record read; a page with none found (listed, then gone) is passed over.
                bool partial = records.Count > 0 && records.Count < hashes.Count;
                cursor = partial ? records[^1].Hash : hashes[^1];
                foreach (AssertionRecord record in records)
                {
                    await writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                    dataBytes += record.Data.Length;
                    remaining--;
                    if (buffer.Length >= ChunkBytes)
                    {
                        // Whole chunks go; the rest (less than a chunk) waits for the next records.
                        int whole = buffer.Length / ChunkBytes * ChunkBytes;
                        for (int start = 0; start < whole; start += ChunkBytes)
                        {
                            yield return buffer.Written.Slice(start, ChunkBytes);
                        }

                        buffer.Discard(whole);
                    }
                }

                if (hashes.Count < page && !partial)
                {
                    break;
                }
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            for (int start = 0; start < buffer.Length; start += ChunkBytes)
            {
                yield return buffer.Written.Slice(start, Math.Min(ChunkBytes, buffer.Length - start));
            }
        }
        finally
        {
            SyncDiagnostics.BytesSent.Add(dataBytes, SyncDiagnostics.Tag("kind", "stream"));
        }
    }
}

using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// The server side of <c>StreamAssertions</c>: a node's assertions in ascending hash order, strictly after a cursor,
/// written as one assertion stream (<see cref="AssertionStreamWriter"/>) and cut into chunks of at most
/// <see cref="SyncProtocol.MaxStreamChunkBytes"/>. The index is listed and the store read one page of 1,000 at a time,
/// only as the caller takes chunks: a slow caller holds the reads back, and memory stays at one page and one chunk.
/// </summary>
internal static class AssertionStreamChunks
{
    /// <summary>A chunk is cut once this many bytes have gathered (a record longer than the rest of a chunk spans two).</summary>
    public const int TargetChunkBytes = 256 * 1024;

    /// <summary>Leaves listed and records read from the store at once.</summary>
    private const int PageSize = SyncProtocol.MaxFetchHashes;

    /// <summary>
    /// The chunks; each is valid until the enumerator moves on. Assertions added while the stream runs are included when
    /// their hash is after the page being read. Counts the assertion bytes sent (<c>stemedb.sync.bytes.sent</c>, kind <c>stream</c>).
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(
        MerkleIndex index, IAssertionStore store, AssertionHash? startAfter, ulong maxRecords, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new ChunkBuffer(TargetChunkBytes + (64 * 1024));
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

                cursor = hashes[^1];
                IReadOnlyList<AssertionRecord> records = await store.GetManyAsync(hashes, cancellationToken).ConfigureAwait(false);
                foreach (AssertionRecord record in records)
                {
                    await writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                    dataBytes += record.Data.Length;
                    remaining--;
                    if (buffer.Length >= TargetChunkBytes)
                    {
                        for (int start = 0; start < buffer.Length; start += SyncProtocol.MaxStreamChunkBytes)
                        {
                            yield return buffer.Written.Slice(start, Math.Min(SyncProtocol.MaxStreamChunkBytes, buffer.Length - start));
                        }

                        buffer.Clear();
                    }
                }

                if (hashes.Count < page)
                {
                    break;
                }
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            for (int start = 0; start < buffer.Length; start += SyncProtocol.MaxStreamChunkBytes)
            {
                yield return buffer.Written.Slice(start, Math.Min(SyncProtocol.MaxStreamChunkBytes, buffer.Length - start));
            }
        }
        finally
        {
            SyncDiagnostics.BytesSent.Add(dataBytes, SyncDiagnostics.Tag("kind", "stream"));
        }
    }
}

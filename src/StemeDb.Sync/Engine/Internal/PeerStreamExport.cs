using System;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// The export of a peer by <c>StreamAssertions</c>: the peer's stream is read with the engine's checks (bounded chunks,
/// a well-formed stream, hashes ascending), each record's hash is checked against its bytes, and the records are written
/// again to the destination. A peer without the extension is found out before anything is written.
/// </summary>
internal static class PeerStreamExport
{
    /// <summary>
    /// Exports the peer's whole set by one stream; returns <see langword="false"/>, with nothing written, when the peer
    /// answers <c>UNIMPLEMENTED</c> (a v1 node, or an older version of this library).
    /// </summary>
    public static async ValueTask<bool> TryExportAsync(
        PeerCalls peer, AssertionStreamWriter writer, IProgress<AssertionStreamProgress>? progress, CancellationToken cancellationToken)
    {
        var pull = new StreamPullProgress();
        try
        {
            await peer.StreamAsync(
                null,
                0,
                new SyncNodeOptions().MaxAssertionBytes,
                intoBatchBuffer: true, // the writer copies each record's bytes before the batch is reused
                async (records, ct) =>
                {
                    for (int i = 0; i < records.Length; i++)
                    {
                        UnverifiedRecord record = records.Span[i];
                        if (!record.Hash.Matches(record.Data.Span))
                        {
                            throw new SyncPeerException(
                                SyncStatusCode.InvalidResponse, $"Peer '{peer.Name}' streamed bytes for {record.Hash} that do not hash to it.");
                        }

                        await writer.WriteAsync(new AssertionRecord(record.Hash, record.Data, record.Timestamp), ct).ConfigureAwait(false);
                    }

                    progress?.Report(new AssertionStreamProgress(writer.Count, writer.Bytes));
                    return new ReceivedBatch(records.Length, records.Length, null);
                },
                pull,
                null,
                cancellationToken).ConfigureAwait(false);
        }
        catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.Unimplemented && pull.Chunks == 0)
        {
            return false;
        }

        return true;
    }
}

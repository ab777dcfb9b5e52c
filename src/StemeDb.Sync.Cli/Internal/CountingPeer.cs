using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>An <see cref="ISyncPeer"/> decorator that counts the calls and assertion bytes crossing one link.</summary>
internal sealed class CountingPeer : ISyncPeer
{
    private readonly ISyncPeer _inner;
    private long _calls;
    private long _bytesSent;
    private long _bytesReceived;
    private long _assertionsSent;
    private long _assertionsReceived;
    private long _failures;

    public CountingPeer(ISyncPeer inner, string name)
    {
        _inner = inner;
        Name = name;
    }

    public string Name { get; }

    public long Calls => Interlocked.Read(ref _calls);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long AssertionsSent => Interlocked.Read(ref _assertionsSent);

    public long AssertionsReceived => Interlocked.Read(ref _assertionsReceived);

    public long Failures => Interlocked.Read(ref _failures);

    public async ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        GossipResult result = await CountAsync(_inner.GossipAsync(record, cancellationToken)).ConfigureAwait(false);
        if (result.Accepted)
        {
            Interlocked.Increment(ref _assertionsSent);
            Interlocked.Add(ref _bytesSent, record.Data.Length);
        }

        return result;
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
        CountAsync(_inner.ExchangeRootsAsync(local, cancellationToken));

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        CountAsync(_inner.GetLeavesAsync(maxLeaves, cancellationToken));

    public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<AssertionRecord> records = await CountAsync(_inner.FetchAsync(hashes, cancellationToken)).ConfigureAwait(false);
        long bytes = 0;
        foreach (AssertionRecord record in records)
        {
            bytes += record.Data.Length;
        }

        Interlocked.Add(ref _assertionsReceived, records.Count);
        Interlocked.Add(ref _bytesReceived, bytes);
        return records;
    }

    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
        CountAsync(_inner.PingAsync(self, cancellationToken));

    public override string ToString() => Name;

    private async ValueTask<T> CountAsync<T>(ValueTask<T> call)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (SyncPeerException)
        {
            // Calls cancelled because a link was removed or the node stopped are not failures.
            Interlocked.Increment(ref _failures);
            throw;
        }
    }
}

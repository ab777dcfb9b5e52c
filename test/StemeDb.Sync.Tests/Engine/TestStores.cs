using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>A host store over the in-memory one: everything forwards, and subclasses change how puts behave.</summary>
internal abstract class ForwardingStore : IAssertionStore
{
    protected InMemoryAssertionStore Inner { get; } = new();

    public abstract ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default);

    public ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default) => Inner.GetAsync(hash, cancellationToken);

    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
        Inner.GetManyAsync(hashes, cancellationToken);

    public ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default) => Inner.ContainsAsync(hash, cancellationToken);

    public ValueTask<long> CountAsync(CancellationToken cancellationToken = default) => Inner.CountAsync(cancellationToken);

    public IAsyncEnumerable<AssertionHash> EnumerateHashesAsync(CancellationToken cancellationToken = default) => Inner.EnumerateHashesAsync(cancellationToken);
}

/// <summary>Also keeps every record object it was given, as some host stores do.</summary>
internal sealed class RecordKeepingStore : ForwardingStore
{
    public ConcurrentDictionary<AssertionHash, AssertionRecord> Records { get; } = new();

    public override ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        Records.TryAdd(record.Hash, record);
        return Inner.PutAsync(record, cancellationToken);
    }
}

/// <summary>Puts fail after a number of successful ones.</summary>
internal sealed class FailingAfterStore : ForwardingStore
{
    private int _putsLeft;

    public FailingAfterStore(int puts) => _putsLeft = puts;

    public override ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default) =>
        Interlocked.Decrement(ref _putsLeft) < 0 ? throw new IOException("disk full") : Inner.PutAsync(record, cancellationToken);
}

/// <summary>Puts complete asynchronously; one put (1-based) can be made to fail.</summary>
internal sealed class AsyncStore : ForwardingStore
{
    private int _puts;

    public int FailPut { get; init; }

    public override async ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        int put = Interlocked.Increment(ref _puts);
        await Task.Yield();
        if (put == FailPut)
        {
            throw new IOException("disk full");
        }

        return await Inner.PutAsync(record, cancellationToken);
    }
}

/// <summary>
/// Writes each <see cref="IAssertionStore.PutManyAsync"/> call itself, as a durable store does with one write batch; it
/// copies the bytes it keeps. It counts its calls, and can be made to fail a call after storing part of it.
/// </summary>
internal sealed class BatchWritingStore : ForwardingStore, IAssertionStore
{
    private int _calls;

    public int Calls => _calls;

    /// <summary>When set, the next call stores this many of its records, then throws.</summary>
    public int? FailAfter { get; set; }

    public override ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default) => Inner.PutAsync(record, cancellationToken);

    public async ValueTask PutManyAsync(ReadOnlyMemory<AssertionRecord> records, Memory<bool> added, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        await Task.Yield();
        for (int i = 0; i < records.Length; i++)
        {
            if (FailAfter is { } failAfter && i == failAfter)
            {
                FailAfter = null;
                throw new IOException("the write batch failed");
            }

            AssertionRecord record = records.Span[i];
            bool stored = await Inner.PutAsync(new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp), cancellationToken).ConfigureAwait(false);
            added.Span[i] = stored;
        }
    }
}

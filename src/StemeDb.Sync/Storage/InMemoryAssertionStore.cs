using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Storage;

/// <summary>
/// A thread-safe, non-durable <see cref="IAssertionStore"/>: the embedded default of a node, and the fake
/// that hosts use in their unit tests.
/// </summary>
public sealed class InMemoryAssertionStore : IAssertionStore
{
    private readonly ConcurrentDictionary<AssertionHash, AssertionRecord> _records = new();

    /// <inheritdoc />
    public ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<bool>(_records.TryAdd(record.Hash, record));
    }

    /// <inheritdoc />
    public ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<AssertionRecord?>(_records.TryGetValue(hash, out AssertionRecord? record) ? record : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new List<AssertionRecord>(Math.Min(hashes.Count, 1024));
        for (int i = 0; i < hashes.Count; i++)
        {
            if (_records.TryGetValue(hashes[i], out AssertionRecord? record))
            {
                found.Add(record);
            }
        }

        return new ValueTask<IReadOnlyList<AssertionRecord>>(found);
    }

    /// <inheritdoc />
    public ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<bool>(_records.ContainsKey(hash));
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<long>(_records.Count);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AssertionHash> EnumerateHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (AssertionHash hash in _records.Keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return hash;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}

using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// The host's ingest: validate, hash, stamp, store and index local assertions, then queue the new ones for gossip
/// (through <see cref="StorePuts"/>). Records from peers take the receive path, <see cref="IncomingAssertions"/>.
/// A store that puts synchronously from a span (<see cref="ISynchronousPutStore"/>, the in-memory store) copies the caller's bytes synchronously and takes prefetch
/// hints: no state machine per assertion, and no record unless gossip takes one. Any other store gets a record with
/// bytes the node owns, since it may keep it.
/// </summary>
internal sealed class LocalIngest
{
    private readonly StorePuts _puts;
    private readonly IAssertionStore _store;
    private readonly ISynchronousPutStore? _synchronousStore;
    private readonly MerkleIndex _index;
    private readonly AssertionVerifier _verifier;
    private readonly NodeLifecycle _lifecycle;

    public LocalIngest(StorePuts puts, MerkleIndex index, AssertionVerifier verifier, NodeLifecycle lifecycle)
    {
        _puts = puts;
        _store = puts.Store;
        _synchronousStore = puts.SynchronousStore;
        _index = index;
        _verifier = verifier;
        _lifecycle = lifecycle;
    }

    public ValueTask<IngestResult> IngestAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        AssertionRecord record;
        ValueTask<bool> put;
        try
        {
            _lifecycle.EnsureRunning();
            ReadOnlySpan<byte> span = data.Span;
            AssertionHash hash = default;
            if (_verifier.IsWithinSize(span.Length))
            {
                // Hash first: the store's first read for the hash then loads while the content is validated and stamped.
                hash = AssertionHash.Compute(span);
                _synchronousStore?.Prefetch(hash);
            }

            if (_verifier.CheckContent(span) is { } rejection)
            {
                throw new AssertionRejectedException(rejection.Reason, $"The assertion was rejected: {rejection.Message}");
            }

            if (_synchronousStore is { } synchronousStore)
            {
                ValueTask<IngestResult> result = _puts.PutLocal(synchronousStore, hash, data, null, cancellationToken);
                _index.AddDeferred(hash);
                return result;
            }

            record = _puts.NewLocalRecord(hash, data);
            put = _store.PutAsync(record, cancellationToken);
        }
#pragma warning disable CA1031 // Not swallowed: faulted into the returned task, as an async method would.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<IngestResult>(ex);
        }

        if (put.IsCompletedSuccessfully && put.Result)
        {
            // No state machine either for a host's store that took the assertion synchronously.
            _index.AddDeferred(record.Hash);
            return new ValueTask<IngestResult>(_puts.CompleteAdded(record));
        }

        return _puts.CompletePutAsync(record, put, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<IngestResult>> IngestManyAsync(IReadOnlyList<ReadOnlyMemory<byte>> assertions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assertions);
        _lifecycle.EnsureRunning();
        var hashes = new AssertionHash[assertions.Count];
        for (int i = 0; i < hashes.Length; i++)
        {
            ReadOnlySpan<byte> data = assertions[i].Span;
            if (_verifier.CheckContent(data) is { } rejection)
            {
                throw new AssertionRejectedException(rejection.Reason, $"Assertion {i} of {hashes.Length} was rejected, so none was stored: {rejection.Message}", i);
            }

            hashes[i] = AssertionHash.Compute(data);
        }

        var results = new IngestResult[hashes.Length];
        await _puts.PutManyAsync(hashes.Length, hashes, assertions, null, results, cancellationToken).ConfigureAwait(false);
        return results;
    }
}

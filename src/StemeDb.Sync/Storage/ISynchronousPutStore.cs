using System;

namespace StemeDb.Sync;

/// <summary>
/// A store that puts synchronously from a span (the in-memory store). What the node may rely on beyond <see cref="IAssertionStore"/>: its
/// <see cref="IAssertionStore.PutAsync"/> copies the bytes it keeps and holds no reference to the record, so that the
/// node may lend it the caller's buffer instead of a copy of its own. Internal: a host's store is treated as the
/// contract alone allows.
/// </summary>
internal interface ISynchronousPutStore
{
    /// <summary>
    /// <see cref="IAssertionStore.PutAsync"/> without a record: stores a copy of <paramref name="data"/>, synchronously.
    /// The caller has verified the record, as for a put.
    /// </summary>
    /// <param name="hash">The hash of <paramref name="data"/>.</param>
    /// <param name="data">The bytes; read during the call only.</param>
    /// <param name="timestamp">The timestamp.</param>
    /// <returns><see langword="true"/> if added; <see langword="false"/> if already present (nothing changed).</returns>
    bool Put(AssertionHash hash, ReadOnlySpan<byte> data, HlcTimestamp timestamp);

    /// <summary>
    /// Starts loading into the CPU cache what a put or a lookup of <paramref name="hash"/> will read first, so that the
    /// caller's work until then overlaps the memory access. A hint only: it changes nothing and may do nothing.
    /// </summary>
    /// <param name="hash">The hash about to be put or looked up.</param>
    void Prefetch(AssertionHash hash);
}

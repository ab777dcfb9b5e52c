using System;
using System.Buffers;
using System.Collections.Generic;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// The records of one import batch and where each starts in the stream, kept from batch to batch: the arrays of
/// records and offsets, and a buffer in chunks that takes the records' bytes when the store copies them while it puts
/// them (<see cref="Copy(ReadOnlySpan{byte})"/>). An import allocates these once, not once per batch or per record.
/// </summary>
internal sealed class RecordBatch
{
    /// <summary>The most records one batch of an import or a streamed pull holds, into a store that puts synchronously (the in-memory store).</summary>
    public const int MaxRecords = 1024;

    /// <summary>
    /// The most records one import batch holds into a store that writes a whole <see cref="IAssertionStore.PutManyAsync"/>
    /// call as one unit (the RocksDB store: one log sync per call), so that larger batches cost fewer syncs; a batch
    /// also ends at <see cref="MaxBytes"/>.
    /// </summary>
    public const int MaxRecordsBulk = 16_384;

    /// <summary>The most data bytes one batch of an import or a streamed pull holds (a batch also ends at <see cref="MaxRecords"/>).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The size of one chunk of the bytes buffer: a batch of 1,024 records of a few hundred bytes fits in one or two.</summary>
    private const int ChunkBytes = 256 * 1024;

    private readonly List<byte[]> _chunks = new();
    private UnverifiedRecord[] _records;
    private long[] _offsets;
    private int _chunk;
    private int _used;

    public RecordBatch(int capacity)
    {
        _records = new UnverifiedRecord[capacity];
        _offsets = new long[capacity];
    }

    /// <summary>The records in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>The records, in stream order.</summary>
    public ReadOnlyMemory<UnverifiedRecord> Records => _records.AsMemory(0, Count);

    /// <summary>Where record <paramref name="index"/> of the batch starts in the stream.</summary>
    public long OffsetOf(int index) => _offsets[index];

    public void Add(in UnverifiedRecord record, long offset)
    {
        if (Count == _records.Length)
        {
            Array.Resize(ref _records, Math.Max(4, _records.Length * 2));
            Array.Resize(ref _offsets, _records.Length);
        }

        _records[Count] = record;
        _offsets[Count] = offset;
        Count++;
    }

    /// <summary>Copies a record's bytes into the batch's buffer; the copy is valid until <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> bytes)
    {
        Memory<byte> destination = Reserve(bytes.Length);
        bytes.CopyTo(destination.Span);
        return destination;
    }

    /// <summary>Copies a record's bytes, split across segments, into the batch's buffer; valid until <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Copy(in ReadOnlySequence<byte> bytes)
    {
        Memory<byte> destination = Reserve(checked((int)bytes.Length));
        bytes.CopyTo(destination.Span);
        return destination;
    }

    /// <summary>Empties the batch; its arrays and buffer are kept for the next one.</summary>
    public void Clear()
    {
        Array.Clear(_records, 0, Count);
        Count = 0;
        _chunk = 0;
        _used = 0;
    }

    private Memory<byte> Reserve(int length)
    {
        if (length == 0)
        {
            return Memory<byte>.Empty;
        }

        while (true)
        {
            if (_chunk < _chunks.Count)
            {
                byte[] chunk = _chunks[_chunk];
                if (chunk.Length - _used >= length)
                {
                    Memory<byte> reserved = chunk.AsMemory(_used, length);
                    _used += length;
                    return reserved;
                }

                _chunk++;
                _used = 0;
                continue;
            }

            _chunks.Add(GC.AllocateUninitializedArray<byte>(Math.Max(ChunkBytes, length)));
        }
    }
}

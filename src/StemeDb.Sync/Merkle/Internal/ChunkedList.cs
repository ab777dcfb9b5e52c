using System;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// An append-only list of structs stored in fixed-size chunks: no large copies when it grows, no
/// large-object-heap arrays, and at most one partly used chunk of slack.
/// </summary>
internal sealed class ChunkedList<T>
    where T : struct
{
    private const int ChunkShift = 10;
    private const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    private T[][] _chunks = Array.Empty<T[]>();
    private int _count;

    public int Count => _count;

    public ref T this[int index] => ref _chunks[index >> ChunkShift][index & ChunkMask];

    /// <summary>
    /// Allocates now whatever the next <paramref name="items"/> appends need, so that they cannot fail
    /// for lack of memory halfway through a multi-step update.
    /// </summary>
    public void EnsureSpare(int items)
    {
        int lastChunk = (_count + items - 1) >> ChunkShift;
        if (lastChunk >= _chunks.Length)
        {
            int length = Math.Max(4, _chunks.Length);
            while (length <= lastChunk)
            {
                length *= 2;
            }

            Array.Resize(ref _chunks, length);
        }

        for (int chunk = _count >> ChunkShift; chunk <= lastChunk; chunk++)
        {
            _chunks[chunk] ??= new T[ChunkSize];
        }
    }

    /// <summary>Appends <paramref name="item"/> and returns its index.</summary>
    public int Add(in T item)
    {
        EnsureSpare(1);
        int index = _count;
        _chunks[index >> ChunkShift][index & ChunkMask] = item;
        _count = index + 1;
        return index;
    }
}

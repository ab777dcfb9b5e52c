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

    /// <summary>Appends <paramref name="item"/> and returns its index.</summary>
    public int Add(in T item)
    {
        int index = _count;
        int chunk = index >> ChunkShift;
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, Math.Max(4, _chunks.Length * 2));
        }

        _chunks[chunk] ??= new T[ChunkSize];
        _chunks[chunk][index & ChunkMask] = item;
        _count = index + 1;
        return index;
    }
}

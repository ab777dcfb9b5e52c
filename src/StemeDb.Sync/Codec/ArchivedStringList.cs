using System;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync;

/// <summary>A zero-copy view of an archived <c>Vec&lt;String&gt;</c>: each element as UTF-8 bytes.</summary>
internal readonly ref struct ArchivedStringList
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _start;

    internal ArchivedStringList(ReadOnlySpan<byte> buffer, int start, int count)
    {
        _buffer = buffer;
        _start = start;
        Count = count;
    }

    /// <summary>The number of strings.</summary>
    public int Count { get; }

    /// <summary>Returns the UTF-8 bytes of the string at <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based index.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Count)</c>.</exception>
    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return StringRepr.Read(_buffer, _start + (index * 8));
        }
    }

    /// <summary>Returns an enumerator over the strings.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(this);

    /// <summary>Enumerates the strings of an <see cref="ArchivedStringList"/> as UTF-8 byte spans.</summary>
    public ref struct Enumerator
    {
        private readonly ArchivedStringList _list;
        private int _index;

        internal Enumerator(ArchivedStringList list)
        {
            _list = list;
            _index = -1;
        }

        /// <summary>The current string's UTF-8 bytes.</summary>
        public readonly ReadOnlySpan<byte> Current => _list[_index];

        /// <summary>Moves to the next string.</summary>
        /// <returns><see langword="false"/> at the end.</returns>
        public bool MoveNext() => ++_index < _list.Count;
    }
}

using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using StemeDb.Sync.Internal;

namespace StemeDb.Sync.Reconciliation.Internal;

/// <summary>
/// An invertible Bloom lookup table over 32-byte keys: 3 hash functions, one per equal sub-table; a cell holds
/// a signed count, the XOR of its keys and the XOR of their 64-bit check hashes. Wire form: 44 bytes per cell,
/// count int32 little-endian, key sum 32 bytes, check sum uint64 little-endian.
/// </summary>
internal sealed class Iblt
{
    public const int HashCount = 3;
    public const int CellBytes = 44;
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    private readonly int[] _counts;
    private readonly ulong[] _keys; // 4 words per cell, big-endian words of the key
    private readonly ulong[] _checks;
    private readonly int _subSize;

    public Iblt(int cells, ulong salt)
    {
        if (cells < HashCount || cells % HashCount != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cells), cells, "The cell count must be a positive multiple of 3.");
        }

        Cells = cells;
        Salt = salt;
        _subSize = cells / HashCount;
        _counts = new int[cells];
        _keys = new ulong[cells * 4];
        _checks = new ulong[cells];
    }

    public int Cells { get; }

    public ulong Salt { get; }

    /// <summary>MurmurHash3's 64-bit finalizer.</summary>
    public static ulong Mix(ulong k) => Murmur3.Fmix64(k);

    /// <summary>The 64-bit digest of a key under a salt: Mix(w0 ^ Mix(w1 ^ Mix(w2 ^ Mix(w3 ^ salt)))).</summary>
    public static ulong Digest(ulong w0, ulong w1, ulong w2, ulong w3, ulong salt) =>
        Mix(w0 ^ Mix(w1 ^ Mix(w2 ^ Mix(w3 ^ salt))));

    public static ulong CheckHash(ulong digest) => Mix(unchecked(digest + (4 * Golden)));

    public int CellIndex(ulong digest, int function) =>
        (int)(Mix(unchecked(digest + ((ulong)(function + 1) * Golden))) % (ulong)_subSize) + (function * _subSize);

    public void Add(AssertionHash key, int sign = 1)
    {
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        key.CopyTo(bytes);
        Toggle(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]),
            sign);
    }

    /// <summary>Adds every leaf of <paramref name="index"/> in the covered top-level slices.</summary>
    public void AddSlices(MerkleIndex index, ReadOnlySpan<byte> bitmap)
    {
        const int page = 4096;
        for (int slice = 0; slice < SliceLayout.SlicesPerLevel; slice++)
        {
            if (!SliceLayout.IsSet(bitmap, slice))
            {
                continue;
            }

            AssertionHash? cursor = SliceLayout.BeforeTopSlice(slice);
            while (true)
            {
                IReadOnlyList<AssertionHash> leaves = index.GetLeaves(cursor, page);
                bool done = leaves.Count < page;
                for (int i = 0; i < leaves.Count; i++)
                {
                    if (SliceLayout.TopSlice(leaves[i]) != slice)
                    {
                        done = true;
                        break;
                    }

                    Add(leaves[i]);
                }

                if (done)
                {
                    break;
                }

                cursor = leaves[^1];
            }
        }
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Cells * CellBytes];
        Span<byte> span = bytes;
        for (int c = 0; c < Cells; c++)
        {
            Span<byte> cell = span.Slice(c * CellBytes, CellBytes);
            BinaryPrimitives.WriteInt32LittleEndian(cell, _counts[c]);
            for (int w = 0; w < 4; w++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(cell[(4 + (8 * w))..], _keys[(4 * c) + w]);
            }

            BinaryPrimitives.WriteUInt64LittleEndian(cell[36..], _checks[c]);
        }

        return bytes;
    }

    /// <summary>Subtracts a table received on the wire (same cells and salt): this becomes local - remote.</summary>
    public void Subtract(ReadOnlySpan<byte> remote)
    {
        if (remote.Length != Cells * CellBytes)
        {
            throw new ArgumentException($"The table is {remote.Length} bytes; {Cells} cells take {Cells * CellBytes}.", nameof(remote));
        }

        for (int c = 0; c < Cells; c++)
        {
            ReadOnlySpan<byte> cell = remote.Slice(c * CellBytes, CellBytes);
            _counts[c] -= BinaryPrimitives.ReadInt32LittleEndian(cell);
            for (int w = 0; w < 4; w++)
            {
                _keys[(4 * c) + w] ^= BinaryPrimitives.ReadUInt64BigEndian(cell[(4 + (8 * w))..]);
            }

            _checks[c] ^= BinaryPrimitives.ReadUInt64LittleEndian(cell[36..]);
        }
    }

    /// <summary>
    /// Peels the table (after <see cref="Subtract"/>): keys with count +1 are held only by the local side,
    /// count -1 only by the remote side. Returns false when the table does not empty completely; the lists then
    /// hold what was peeled so far.
    /// </summary>
    public bool TryPeel(List<AssertionHash> localOnly, List<AssertionHash> remoteOnly)
    {
        var queue = new Queue<int>();
        for (int c = 0; c < Cells; c++)
        {
            queue.Enqueue(c);
        }

        int budget = Cells + 16; // every key appears in 3 cells, so an honest table peels at most Cells keys
        var seen = new HashSet<AssertionHash>();
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        while (queue.Count > 0)
        {
            int c = queue.Dequeue();
            int count = _counts[c];
            if (count is not (1 or -1))
            {
                continue;
            }

            ulong w0 = _keys[4 * c], w1 = _keys[(4 * c) + 1], w2 = _keys[(4 * c) + 2], w3 = _keys[(4 * c) + 3];
            ulong digest = Digest(w0, w1, w2, w3, Salt);
            if (CheckHash(digest) != _checks[c] || CellIndex(digest, (c / _subSize)) != c)
            {
                continue;
            }

            if (--budget < 0)
            {
                return false;
            }

            BinaryPrimitives.WriteUInt64BigEndian(bytes, w0);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], w1);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], w2);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], w3);
            var key = new AssertionHash(bytes);
            if (!seen.Add(key))
            {
                return false; // the same key twice: a corrupt table
            }

            (count > 0 ? localOnly : remoteOnly).Add(key);
            Toggle(w0, w1, w2, w3, -count);
            for (int f = 0; f < HashCount; f++)
            {
                queue.Enqueue(CellIndex(digest, f));
            }
        }

        for (int c = 0; c < Cells; c++)
        {
            if (_counts[c] != 0 || _checks[c] != 0 || (_keys[4 * c] | _keys[(4 * c) + 1] | _keys[(4 * c) + 2] | _keys[(4 * c) + 3]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    private void Toggle(ulong w0, ulong w1, ulong w2, ulong w3, int sign)
    {
        ulong digest = Digest(w0, w1, w2, w3, Salt);
        ulong check = CheckHash(digest);
        for (int f = 0; f < HashCount; f++)
        {
            int c = CellIndex(digest, f);
            _counts[c] += sign;
            _keys[4 * c] ^= w0;
            _keys[(4 * c) + 1] ^= w1;
            _keys[(4 * c) + 2] ^= w2;
            _keys[(4 * c) + 3] ^= w3;
            _checks[c] ^= check;
        }
    }
}

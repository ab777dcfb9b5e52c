using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace StemeDb.Sync.RocksDb.Internal;

/// <summary>
/// An in-memory Bloom filter of the hashes a store holds, so that a put of a new hash (almost every put) needs no read
/// of the database to know it is new: about 10 bits and 7 probes per hash, about 1% false positives, which the store
/// confirms with a read. BLAKE3 hashes are uniformly random, so their own bits are the probes. It grows by generations:
/// when the newest filter is full, a new one twice its size takes new hashes, and a lookup asks every generation.
/// Not thread-safe: the store's writer owns it.
/// </summary>
internal sealed class HashFilter
{
    private const int BitsPerHash = 10;
    private const int Probes = 7;
    private readonly List<Generation> _generations = new();

    public HashFilter(long expected) => _generations.Add(new Generation(Math.Max(1 << 16, expected)));

    public bool MightContain(AssertionHash hash)
    {
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        hash.CopyTo(bytes);
        foreach (Generation generation in _generations)
        {
            if (generation.MightContain(bytes))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(AssertionHash hash)
    {
        Generation newest = _generations[^1];
        if (newest.Count >= newest.Capacity)
        {
            newest = new Generation(newest.Capacity * 2);
            _generations.Add(newest);
        }

        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        hash.CopyTo(bytes);
        newest.Add(bytes);
    }

    private sealed class Generation(long capacity)
    {
        private readonly ulong[] _bits = new ulong[Math.Max(1, capacity * BitsPerHash / 64)];

        public long Capacity { get; } = capacity;

        public long Count { get; private set; }

        public bool MightContain(ReadOnlySpan<byte> hash)
        {
            for (int probe = 0; probe < Probes; probe++)
            {
                ulong bit = Bit(hash, probe);
                if ((_bits[bit >> 6] & (1UL << (int)(bit & 63))) == 0)
                {
                    return false;
                }
            }

            return true;
        }

        public void Add(ReadOnlySpan<byte> hash)
        {
            for (int probe = 0; probe < Probes; probe++)
            {
                ulong bit = Bit(hash, probe);
                _bits[bit >> 6] |= 1UL << (int)(bit & 63);
            }

            Count++;
        }

        private ulong Bit(ReadOnlySpan<byte> hash, int probe) =>
            BinaryPrimitives.ReadUInt32LittleEndian(hash.Slice(probe * 4, 4)) % (ulong)(_bits.Length * 64L);
    }
}

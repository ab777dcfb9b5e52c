using System;
using System.Runtime.CompilerServices;
using StemeDb.Sync.Internal;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// One coded symbol of a rateless invertible Bloom lookup table (docs/PROTOCOL.md, "ReconcileSymbols"): the XOR of
/// the 32-byte leaves mapped to it (four big-endian words), the XOR of their 32-bit checksums, and their count. 40
/// bytes. Symbols are linear: adding a leaf twice removes it, and one side's symbols minus the other's are the symbols
/// of the symmetric difference (count: leaves held here minus leaves held there).
/// </summary>
internal struct CodedSymbol : IEquatable<CodedSymbol>
{
    public ulong S0;
    public ulong S1;
    public ulong S2;
    public ulong S3;
    public uint Check;
    public int Count;

    /// <summary>Whether the symbol holds nothing (no leaf, or leaves that cancelled out).</summary>
    public readonly bool IsEmpty => (S0 | S1 | S2 | S3 | Check) == 0 && Count == 0;

    /// <summary>Adds (<paramref name="sign"/> = 1) or removes (-1) a leaf with checksum <paramref name="check"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(ulong w0, ulong w1, ulong w2, ulong w3, uint check, int sign)
    {
        S0 ^= w0;
        S1 ^= w1;
        S2 ^= w2;
        S3 ^= w3;
        Check ^= check;
        Count += sign;
    }

    /// <summary>Subtracts <paramref name="other"/>: XOR of the sums and checksums, difference of the counts.</summary>
    public void Subtract(in CodedSymbol other)
    {
        S0 ^= other.S0;
        S1 ^= other.S1;
        S2 ^= other.S2;
        S3 ^= other.S3;
        Check ^= other.Check;
        Count = unchecked(Count - other.Count);
    }

    public readonly bool Equals(CodedSymbol other) =>
        S0 == other.S0 && S1 == other.S1 && S2 == other.S2 && S3 == other.S3 && Check == other.Check && Count == other.Count;

    public override readonly bool Equals(object? obj) => obj is CodedSymbol other && Equals(other);

    public override readonly int GetHashCode() => HashCode.Combine(S0, S1, S2, S3, Check, Count);
}

/// <summary>
/// The per-leaf functions of the rateless table: a 64-bit mix of the leaf's four words, whose high 32 bits are the
/// checksum and which seeds the leaf's index sequence (<see cref="SymbolWalk"/>).
/// </summary>
internal static class RibltHash
{
    /// <summary>The leaf's 64-bit mix: MurmurHash3's finalizer over each word in turn.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        ulong h = Fmix(w0 ^ 0x9E3779B97F4A7C15UL);
        h = Fmix(h ^ w1);
        h = Fmix(h ^ w2);
        return Fmix(h ^ w3);
    }

    /// <summary>The checksum carried in <see cref="CodedSymbol.Check"/> for a leaf with mix <paramref name="mix"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Checksum(ulong mix) => (uint)(mix >> 32);

    private static ulong Fmix(ulong k) => Murmur3.Fmix64(k);
}

/// <summary>
/// The ascending symbol indices a leaf maps to: index 0, then each next index from a multiplicative generator seeded
/// by the leaf's mix, so that index i is hit with probability about 1 / (1 + i/2) (Yang, Gilad and Alizadeh,
/// "Practical Rateless Set Reconciliation", SIGCOMM 2024). Only IEEE-754 double operations that are correctly rounded
/// (multiply, divide, square root, ceiling) are used, so every platform walks the same indices.
/// </summary>
internal struct SymbolWalk
{
    /// <summary>Past the last index any walk can reach; a walk that would go further ends there.</summary>
    public const ulong End = 1UL << 62;

    private ulong _state;

    /// <summary>Starts the walk of a leaf with mix <paramref name="mix"/> at index 0.</summary>
    public SymbolWalk(ulong mix)
    {
        _state = mix | 1; // odd: the generator never reaches 0
        Index = 0;
    }

    /// <summary>The current index.</summary>
    public ulong Index { readonly get; private set; }

    /// <summary>Moves to the next index (<see cref="End"/> once past every reachable one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Next()
    {
        ulong r = unchecked(_state * 0xDA942042E4DD58B5UL);
        _state = r;
        double step = Math.Ceiling((Index + 1.5) * ((4294967296.0 / Math.Sqrt((double)r + 1.0)) - 1.0));
        ulong next = step >= End ? End : Index + (ulong)step;
        Index = next >= End ? End : next;
    }

    /// <summary>Whether a leaf with mix <paramref name="mix"/> maps to symbol <paramref name="index"/>.</summary>
    public static bool Maps(ulong mix, ulong index)
    {
        var walk = new SymbolWalk(mix);
        while (walk.Index < index)
        {
            walk.Next();
        }

        return walk.Index == index;
    }

    /// <summary>The number of indices below <paramref name="limit"/> one leaf maps to on average (about 2 ln(limit/2) + 1).</summary>
    public static double ExpectedBelow(long limit) => limit <= 1 ? Math.Max(0, limit) : 1 + (2 * Math.Log(1 + (limit / 2.0)));
}

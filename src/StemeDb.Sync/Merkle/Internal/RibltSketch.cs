using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The prefix of a leaf set's rateless coded symbols (docs/PROTOCOL.md, "ReconcileSymbols"), kept up to date as
/// leaves are added: each new leaf is XORed into the symbols it maps to below <see cref="Length"/>, about
/// 2 ln(<see cref="Length"/>/2) + 1 of them. The prefix doubles as the set grows, to 0.3 symbols per leaf (12 bytes
/// per leaf) up to a ceiling: <see cref="GrowLength"/> until a reader needs more and <see cref="Extend"/>s it, once,
/// to <see cref="MaxLength"/>. Symbols past the prefix are computed from the leaves when asked for. Not thread-safe:
/// the owner (<see cref="MerkleIndex"/>) serializes every call.
/// </summary>
/// <remarks>
/// A reader that takes symbols in several calls while leaves keep arriving names the <see cref="Version"/> it started
/// at; the leaves added since are taken back out of what it reads, from a journal of the last
/// <see cref="JournalLength"/> additions, so that all its symbols describe one set.
/// </remarks>
internal sealed class RibltSketch
{
    /// <summary>The shortest prefix kept (10 KiB).</summary>
    public const int MinLength = 256;

    /// <summary>
    /// The longest prefix kept as the set grows, until a reader needs more: 2^16 symbols, 2.5 MiB, enough for about
    /// 40,000 differences. Each new leaf's walk then writes within a few megabytes, which costs about a third of what
    /// it costs over the 10 MiB of <see cref="MaxLength"/> (docs/BENCHMARKS.md).
    /// </summary>
    public const int GrowLength = 1 << 16;

    /// <summary>The longest prefix kept once <see cref="Extend"/>ed: 2^18 symbols, 10 MiB, enough for about 170,000 differences.</summary>
    public const int MaxLength = 1 << 18;

    /// <summary>How many of the latest additions a reader may have missed and still read a consistent set.</summary>
    public const int JournalLength = 1024;

    private readonly (ulong W0, ulong W1, ulong W2, ulong W3)[] _journal = new (ulong, ulong, ulong, ulong)[JournalLength];
    private CodedSymbol[] _symbols;
    private int _ceiling;

    /// <summary>Makes the sketch of a set of <paramref name="count"/> leaves from all of them (O(n)).</summary>
    /// <param name="count">The number of leaves.</param>
    /// <param name="leaves">Every leaf.</param>
    /// <param name="growLength">The ceiling of the prefix until <see cref="Extend"/> (<see cref="GrowLength"/>; smaller in tests).</param>
    public RibltSketch(long count, IEnumerable<AssertionHash> leaves, int growLength = GrowLength)
    {
        _ceiling = Math.Clamp(growLength, MinLength, MaxLength);
        _symbols = new CodedSymbol[Math.Min(TargetLength(count), _ceiling)];
        Compute(_symbols, 0, leaves);
    }

    /// <summary>The number of symbols kept up to date.</summary>
    public int Length => _symbols.Length;

    /// <summary>The number of leaves added so far (the set's version).</summary>
    public long Version { get; private set; }

    /// <summary>The longest prefix kept for a set of <paramref name="count"/> leaves: 0.3 per leaf, at least <see cref="MinLength"/>, at most <see cref="MaxLength"/>.</summary>
    public static int TargetLength(long count) => (int)Math.Clamp(count * 3 / 10, MinLength, MaxLength);

    /// <summary>
    /// Whether a set of <paramref name="count"/> leaves calls for a longer prefix (see <see cref="Grow"/>): once the target
    /// (within the ceiling) is twice the prefix, or reaches the ceiling, so that growth walks every leaf about once per
    /// leaf added in all.
    /// </summary>
    public bool ShouldGrow(long count)
    {
        int target = Math.Min(TargetLength(count), _ceiling);
        return (target >= 2 * Length || target == _ceiling) && target > Length;
    }

    /// <summary>
    /// Lifts the ceiling from <see cref="GrowLength"/> to <see cref="MaxLength"/>, once, for a reader that needs
    /// <paramref name="needed"/> symbols of a set of <paramref name="count"/> leaves, and grows the prefix to the set's
    /// target (O(n), computed from <paramref name="leaves"/>). Only when the ceiling is what stands in the way: the
    /// prefix has reached it and the target covers <paramref name="needed"/>. So a reader can make this cost O(n) once in
    /// the sketch's life; otherwise it changes nothing.
    /// </summary>
    /// <returns>Whether the prefix now holds <paramref name="needed"/> symbols.</returns>
    public bool Extend(long needed, long count, IEnumerable<AssertionHash> leaves)
    {
        if (needed <= Length)
        {
            return true;
        }

        if (_ceiling == MaxLength || Length < _ceiling || needed > TargetLength(count))
        {
            return false;
        }

        _ceiling = MaxLength;
        GrowTo(TargetLength(count), leaves);
        return true;
    }

    /// <summary>Adds new leaves (the caller checks that each is new and given once), several walks at a time.</summary>
    public void AddMany(ReadOnlySpan<(ulong W0, ulong W1, ulong W2, ulong W3)> leaves)
    {
        ApplyMany(_symbols, 0, leaves, 1);
        foreach ((ulong W0, ulong W1, ulong W2, ulong W3) leaf in leaves)
        {
            _journal[(int)(Version % JournalLength)] = leaf;
            Version++;
        }
    }

    /// <summary>Adds a new leaf (the caller checks that it is new: adding one twice removes it).</summary>
    public void Add(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        Apply(_symbols, 0, w0, w1, w2, w3, 1);
        _journal[(int)(Version % JournalLength)] = (w0, w1, w2, w3);
        Version++;
    }

    /// <summary>
    /// Grows the prefix for a set of <paramref name="count"/> leaves, once its target is twice the prefix kept: the new
    /// symbols are computed from <paramref name="leaves"/> (the whole set), so growth costs O(n) a time and O(1) per
    /// leaf amortized.
    /// </summary>
    public void Grow(long count, IEnumerable<AssertionHash> leaves)
    {
        if (!ShouldGrow(count))
        {
            return;
        }

        GrowTo(Math.Min(TargetLength(count), _ceiling), leaves);
    }

    /// <summary>Lengthens the prefix to <paramref name="length"/> symbols, the new ones computed from <paramref name="leaves"/> (the whole set).</summary>
    private void GrowTo(int length, IEnumerable<AssertionHash> leaves)
    {
        var grown = new CodedSymbol[length];
        Array.Copy(_symbols, grown, _symbols.Length);
        Compute(grown.AsSpan(_symbols.Length), (ulong)_symbols.Length, leaves);
        _symbols = grown;
    }

    /// <summary>
    /// Copies symbols <paramref name="start"/> onward into <paramref name="destination"/>, as of <paramref name="version"/>;
    /// those past the prefix are computed from <paramref name="leaves"/> (the whole current set).
    /// </summary>
    /// <returns><see langword="false"/> when more than <see cref="JournalLength"/> leaves were added since
    /// <paramref name="version"/>: the set read from is no longer known.</returns>
    public bool TryRead(long version, long start, Span<CodedSymbol> destination, Func<IEnumerable<AssertionHash>> leaves)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (version > Version || Version - version > JournalLength)
        {
            return false;
        }

        int kept = start >= Length ? 0 : (int)Math.Min(destination.Length, Length - start);
        _symbols.AsSpan((int)Math.Min(start, Length), kept).CopyTo(destination);
        if (kept < destination.Length)
        {
            Compute(destination[kept..], (ulong)(start + kept), leaves());
        }

        for (long v = version; v < Version; v++)
        {
            (ulong w0, ulong w1, ulong w2, ulong w3) = _journal[(int)(v % JournalLength)];
            Apply(destination, (ulong)start, w0, w1, w2, w3, -1);
        }

        return true;
    }

    /// <summary>Computes symbols <paramref name="start"/> onward of <paramref name="leaves"/> into <paramref name="destination"/> (cleared first).</summary>
    public static void Compute(Span<CodedSymbol> destination, ulong start, IEnumerable<AssertionHash> leaves)
    {
        destination.Clear();
        Span<(ulong W0, ulong W1, ulong W2, ulong W3)> batch = stackalloc (ulong, ulong, ulong, ulong)[64];
        int count = 0;
        foreach (AssertionHash leaf in leaves)
        {
            batch[count++] = (leaf.W0, leaf.W1, leaf.W2, leaf.W3);
            if (count == batch.Length)
            {
                ApplyMany(destination, start, batch, 1);
                count = 0;
            }
        }

        ApplyMany(destination, start, batch[..count], 1);
    }

    /// <summary>
    /// Adds (<paramref name="sign"/> 1) or removes (-1) each of <paramref name="leaves"/> in the symbols
    /// <paramref name="start"/> onward held in <paramref name="symbols"/>, as <see cref="Apply"/> does one by one. Four
    /// walks advance side by side: each step waits on a square root and a division, and the processor overlaps the steps
    /// of independent walks, so this costs about a third of walking them one after another.
    /// </summary>
    public static void ApplyMany(Span<CodedSymbol> symbols, ulong start, ReadOnlySpan<(ulong W0, ulong W1, ulong W2, ulong W3)> leaves, int sign)
    {
        int i = 0;
        for (; i + 4 <= leaves.Length; i += 4)
        {
            ApplyFour(symbols, start, leaves.Slice(i, 4), sign);
        }

        for (; i < leaves.Length; i++)
        {
            (ulong w0, ulong w1, ulong w2, ulong w3) = leaves[i];
            Apply(symbols, start, w0, w1, w2, w3, sign);
        }
    }

    private static void ApplyFour(Span<CodedSymbol> symbols, ulong start, ReadOnlySpan<(ulong W0, ulong W1, ulong W2, ulong W3)> four, int sign)
    {
        ulong end = start + (ulong)symbols.Length;
        (ulong a0, ulong a1, ulong a2, ulong a3) = four[0];
        (ulong b0, ulong b1, ulong b2, ulong b3) = four[1];
        (ulong c0, ulong c1, ulong c2, ulong c3) = four[2];
        (ulong d0, ulong d1, ulong d2, ulong d3) = four[3];
        ulong mixA = RibltHash.Mix(a0, a1, a2, a3);
        ulong mixB = RibltHash.Mix(b0, b1, b2, b3);
        ulong mixC = RibltHash.Mix(c0, c1, c2, c3);
        ulong mixD = RibltHash.Mix(d0, d1, d2, d3);
        var a = new SymbolWalk(mixA);
        var b = new SymbolWalk(mixB);
        var c = new SymbolWalk(mixC);
        var d = new SymbolWalk(mixD);
        while (true)
        {
            bool more = false;
            if (a.Index < end)
            {
                if (a.Index >= start)
                {
                    symbols[(int)(a.Index - start)].Apply(a0, a1, a2, a3, RibltHash.Checksum(mixA), sign);
                }

                a.Next();
                more = true;
            }

            if (b.Index < end)
            {
                if (b.Index >= start)
                {
                    symbols[(int)(b.Index - start)].Apply(b0, b1, b2, b3, RibltHash.Checksum(mixB), sign);
                }

                b.Next();
                more = true;
            }

            if (c.Index < end)
            {
                if (c.Index >= start)
                {
                    symbols[(int)(c.Index - start)].Apply(c0, c1, c2, c3, RibltHash.Checksum(mixC), sign);
                }

                c.Next();
                more = true;
            }

            if (d.Index < end)
            {
                if (d.Index >= start)
                {
                    symbols[(int)(d.Index - start)].Apply(d0, d1, d2, d3, RibltHash.Checksum(mixD), sign);
                }

                d.Next();
                more = true;
            }

            if (!more)
            {
                return;
            }
        }
    }

    /// <summary>Adds (<paramref name="sign"/> 1) or removes (-1) a leaf in the symbols <paramref name="start"/> onward held in <paramref name="symbols"/>.</summary>
    public static void Apply(Span<CodedSymbol> symbols, ulong start, ulong w0, ulong w1, ulong w2, ulong w3, int sign)
    {
        ulong mix = RibltHash.Mix(w0, w1, w2, w3);
        uint check = RibltHash.Checksum(mix);
        ulong end = start + (ulong)symbols.Length;
        var walk = new SymbolWalk(mix);
        while (walk.Index < start)
        {
            walk.Next();
        }

        while (walk.Index < end)
        {
            symbols[(int)(walk.Index - start)].Apply(w0, w1, w2, w3, check, sign);
            walk.Next();
        }
    }
}

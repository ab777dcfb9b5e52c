using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The rateless coded symbols of a <see cref="MerkleIndex"/>'s leaves (docs/PROTOCOL.md, "ReconcileSymbols"): a
/// <see cref="RibltSketch"/> made from every leaf of the trie on the first read of the symbols (O(n) once), kept up to
/// date from then on as the index adds leaves, and lengthened as the set grows. Not thread-safe: the index serializes
/// every call.
/// </summary>
internal sealed class SymbolSource
{
    private readonly BucketedTrie _trie;
    private RibltSketch? _sketch;

    /// <summary>Makes the symbol source of the leaves of <paramref name="trie"/>; it keeps no symbols until they are first read.</summary>
    /// <param name="trie">The index's trie, whose leaves the symbols describe.</param>
    public SymbolSource(BucketedTrie trie) => _trie = trie;

    /// <summary>The ceiling of the kept symbols until a reader extends them (<see cref="RibltSketch.GrowLength"/>; tests set less before the first read of the symbols).</summary>
    public int GrowLength { get; set; } = RibltSketch.GrowLength;

    /// <summary>Whether symbols are kept up to date (they were read at least once).</summary>
    public bool IsKept => _sketch is not null;

    /// <summary>The sketch, made from every leaf on first use (O(n) once).</summary>
    public RibltSketch Sketch => _sketch ??= new RibltSketch(_trie.Count, AllLeaves(), GrowLength);

    /// <summary>Adds a leaf just added to the trie, when symbols are kept.</summary>
    public void Add(in Key256 key)
    {
        if (_sketch is { } sketch)
        {
            sketch.Add(key.W0, key.W1, key.W2, key.W3);
            Grow(sketch);
        }
    }

    /// <summary>Adds the leaves new to the trie to the sketch, a batch at a time (several symbol walks side by side), and empties <paramref name="fresh"/>.</summary>
    /// <param name="fresh">The leaves a merge added to the trie; symbols must be kept (<see cref="IsKept"/>).</param>
    public void AddFresh(List<Key256> fresh)
    {
        RibltSketch sketch = _sketch!;
        Span<(ulong W0, ulong W1, ulong W2, ulong W3)> batch = stackalloc (ulong, ulong, ulong, ulong)[64];
        int count = 0;
        foreach (Key256 key in fresh)
        {
            batch[count++] = (key.W0, key.W1, key.W2, key.W3);
            if (count == batch.Length)
            {
                sketch.AddMany(batch);
                count = 0;
            }
        }

        sketch.AddMany(batch[..count]);
        fresh.Clear();
    }

    /// <summary>Lengthens the sketch's prefix once the set has grown enough (O(n) a time, O(1) per leaf amortized); symbols must be kept.</summary>
    public void Grow() => Grow(_sketch!);

    /// <summary>
    /// Copies coded symbols <paramref name="start"/> onward of the set as of <paramref name="version"/> (see
    /// <see cref="RibltSketch.TryRead"/>); later ones than the kept prefix are computed from every leaf (O(n)).
    /// </summary>
    /// <returns><see langword="false"/> when too many leaves were added since <paramref name="version"/> to tell that set.</returns>
    public bool TryRead(long version, long start, Span<CodedSymbol> destination, out int count)
    {
        RibltSketch sketch = Sketch;
        count = (int)(_trie.Count - (sketch.Version - version));
        return sketch.TryRead(version, start, destination, AllLeaves);
    }

    /// <summary>Makes the kept prefix hold <paramref name="needed"/> symbols when its ceiling is what stands in the way (see <see cref="RibltSketch.Extend"/>).</summary>
    /// <returns>Whether the kept prefix now holds them.</returns>
    public bool TryExtend(long needed) => Sketch.Extend(needed, _trie.Count, AllLeaves());

    private void Grow(RibltSketch sketch)
    {
        if (sketch.ShouldGrow(_trie.Count))
        {
            sketch.Grow(_trie.Count, AllLeaves());
        }
    }

    /// <summary>Every leaf, ascending, read a page at a time (the index holds its lock throughout).</summary>
    private IEnumerable<AssertionHash> AllLeaves()
    {
        var page = new List<AssertionHash>(4096);
        Key256? cursor = null;
        while (true)
        {
            page.Clear();
            _trie.GetLeaves(cursor, 4096, page);
            foreach (AssertionHash leaf in page)
            {
                yield return leaf;
            }

            if (page.Count < 4096)
            {
                yield break;
            }

            cursor = Key256.FromHash(page[^1]);
        }
    }
}

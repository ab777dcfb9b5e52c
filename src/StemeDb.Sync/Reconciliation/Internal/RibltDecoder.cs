using System;
using System.Collections.Generic;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Reconciliation.Internal;

/// <summary>How far a <see cref="RibltDecoder"/> has got.</summary>
internal enum RibltDecodeStatus
{
    /// <summary>Symbol 0 is empty: every difference is listed.</summary>
    Decoded,

    /// <summary>More symbols are needed.</summary>
    NeedMore,

    /// <summary>The symbols cannot be of two honest sets (a leaf decoded twice, or more leaves than symbols allow).</summary>
    Failed,
}

/// <summary>
/// Peels the difference of a remote set's coded symbols and the local set's (docs/PROTOCOL.md, "ReconcileSymbols"),
/// fed a prefix at a time. A symbol whose count is +1 or -1, whose checksum is that of its sum and whose sum maps to
/// it is pure: its sum is a leaf held on one side only, which is then removed from every symbol it maps to. Decoding
/// is done when symbol 0, to which every leaf maps, is empty. Work and memory are O(symbols + differences x log
/// symbols); a hostile prefix can make it fail, never loop or grow without bound: it holds at most
/// the most symbols it was made for, and decoding more leaves than twice the symbols (plus 64) fails.
/// </summary>
internal sealed class RibltDecoder
{
    private readonly int _maxSymbols;
    private readonly List<Decoded> _decoded = new();
    private readonly HashSet<AssertionHash> _seen = new();
    private readonly Stack<int> _candidates = new();
    private CodedSymbol[] _symbols = new CodedSymbol[64];
    private int _count;
    private bool _failed;

    /// <param name="maxSymbols">The most symbols this decoder accepts.</param>
    public RibltDecoder(int maxSymbols)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSymbols);
        _maxSymbols = maxSymbols;
    }

    /// <summary>The number of symbols received.</summary>
    public int SymbolCount => _count;

    /// <summary>The number of leaves decoded so far.</summary>
    public int DecodedCount => _decoded.Count;

    /// <summary>
    /// Adds the next symbols, remote and local for the same indices (from <see cref="SymbolCount"/> on), and peels.
    /// </summary>
    /// <returns>The status after peeling.</returns>
    /// <exception cref="ArgumentException">The spans differ in length, or they would take the decoder past its limit.</exception>
    public RibltDecodeStatus Add(ReadOnlySpan<CodedSymbol> remote, ReadOnlySpan<CodedSymbol> local)
    {
        if (remote.Length != local.Length)
        {
            throw new ArgumentException($"{remote.Length} remote symbols against {local.Length} local ones.", nameof(local));
        }

        if (remote.Length > _maxSymbols - _count)
        {
            throw new ArgumentException($"{_count} + {remote.Length} symbols exceed the limit of {_maxSymbols}.", nameof(remote));
        }

        if (_failed)
        {
            return RibltDecodeStatus.Failed;
        }

        int start = _count;
        int end = start + remote.Length;
        if (end > _symbols.Length)
        {
            Array.Resize(ref _symbols, (int)Math.Min(_maxSymbols, Math.Max(end, 2L * _symbols.Length)));
        }

        for (int i = 0; i < remote.Length; i++)
        {
            CodedSymbol symbol = local[i];
            symbol.Subtract(remote[i]);
            _symbols[start + i] = symbol;
        }

        _count = end;

        // The leaves already decoded come out of the new symbols too.
        Span<CodedSymbol> fresh = _symbols.AsSpan(start, remote.Length);
        for (int k = 0; k < _decoded.Count; k++)
        {
            Decoded item = _decoded[k];
            while (item.Walk.Index < (ulong)end)
            {
                fresh[(int)(item.Walk.Index - (ulong)start)].Apply(item.W0, item.W1, item.W2, item.W3, item.Check, -item.Sign);
                item.Walk.Next();
            }

            _decoded[k] = item;
        }

        for (int i = end - 1; i >= start; i--)
        {
            _candidates.Push(i);
        }

        return Peel();
    }

    /// <summary>The leaves held here and not by the peer, and those the peer holds and this side lacks, as decoded so far.</summary>
    public (List<AssertionHash> LocalOnly, List<AssertionHash> RemoteOnly) Differences()
    {
        var localOnly = new List<AssertionHash>();
        var remoteOnly = new List<AssertionHash>();
        foreach (Decoded item in _decoded)
        {
            (item.Sign > 0 ? localOnly : remoteOnly).Add(AssertionHash.FromWords(item.W0, item.W1, item.W2, item.W3));
        }

        return (localOnly, remoteOnly);
    }

    private RibltDecodeStatus Peel()
    {
        int limit = (2 * _count) + 64;
        while (_candidates.TryPop(out int index))
        {
            ref CodedSymbol symbol = ref _symbols[index];
            if (symbol.Count is not (1 or -1))
            {
                continue;
            }

            ulong mix = RibltHash.Mix(symbol.S0, symbol.S1, symbol.S2, symbol.S3);
            if (RibltHash.Checksum(mix) != symbol.Check || !SymbolWalk.Maps(mix, (ulong)index))
            {
                continue;
            }

            var leaf = AssertionHash.FromWords(symbol.S0, symbol.S1, symbol.S2, symbol.S3);
            if (!_seen.Add(leaf) || _decoded.Count >= limit)
            {
                _failed = true;
                _candidates.Clear();
                return RibltDecodeStatus.Failed;
            }

            var item = new Decoded(symbol.S0, symbol.S1, symbol.S2, symbol.S3, symbol.Check, symbol.Count, new SymbolWalk(mix));
            while (item.Walk.Index < (ulong)_count)
            {
                int at = (int)item.Walk.Index;
                _symbols[at].Apply(item.W0, item.W1, item.W2, item.W3, item.Check, -item.Sign);
                if (at != index)
                {
                    _candidates.Push(at);
                }

                item.Walk.Next();
            }

            _decoded.Add(item);
        }

        return _count > 0 && _symbols[0].IsEmpty ? RibltDecodeStatus.Decoded : RibltDecodeStatus.NeedMore;
    }

    /// <summary>A decoded leaf, its side (+1 held here, -1 held by the peer) and its walk, at the first index not yet received.</summary>
    private struct Decoded
    {
        public readonly ulong W0;
        public readonly ulong W1;
        public readonly ulong W2;
        public readonly ulong W3;
        public readonly uint Check;
        public readonly int Sign;
        public SymbolWalk Walk;

        public Decoded(ulong w0, ulong w1, ulong w2, ulong w3, uint check, int sign, SymbolWalk walk)
        {
            W0 = w0;
            W1 = w1;
            W2 = w2;
            W3 = w3;
            Check = check;
            Sign = sign;
            Walk = walk;
        }
    }
}

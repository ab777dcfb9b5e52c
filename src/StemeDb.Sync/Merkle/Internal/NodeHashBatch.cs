using System;
using System.Buffers;
using System.Diagnostics;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// Inner node hashes gathered for a root read and computed together: <see cref="Run"/> computes them level by level
/// from the bottom (a node's height is one more than its higher child's), each level in groups of independent nodes
/// across the lanes of <see cref="NodeHasher.HashAll"/>. Not thread-safe. Its buffers are rented from the shared
/// array pools and given back by <see cref="Release"/> after each read, so that an index holds none between reads.
/// </summary>
internal sealed class NodeHashBatch
{
    private uint[] _words = Array.Empty<uint>(); // value i at words [8i, 8i + 8): see NodeHasher.ToWords
    private ushort[] _heights = Array.Empty<ushort>();
    private int _valueCount;
    private NodeJob[] _jobs = Array.Empty<NodeJob>();
    private NodeJob[] _sorted = Array.Empty<NodeJob>();
    private int _jobCount;
    private int _maxHeight;
    private int[] _levelStarts = Array.Empty<int>();
    private (int Tag, int Value)[] _results = Array.Empty<(int, int)>();
    private int _resultCount;

    /// <summary>The number of jobs gathered since the last <see cref="Clear"/>.</summary>
    public int JobCount => _jobCount;

    /// <summary>The results noted with <see cref="Note"/>, valid after <see cref="Run"/> until <see cref="Clear"/>.</summary>
    public ReadOnlySpan<(int Tag, int Value)> Results => _results.AsSpan(0, _resultCount);

    /// <summary>Adds a known value (a leaf, or a hash computed earlier); returns its position.</summary>
    public int Add(in Key256 value)
    {
        int position = NewValue(0);
        NodeHasher.ToWords(value, _words.AsSpan(position * NodeHasher.ValueWords, NodeHasher.ValueWords));
        return position;
    }

    /// <summary>Adds the inner node over the values at <paramref name="left"/> and <paramref name="right"/>; returns the position of its hash.</summary>
    public int AddInner(int left, int right)
    {
        int height = Math.Max(_heights[left], _heights[right]) + 1;
        int output = NewValue(height);
        if (_jobCount == _jobs.Length)
        {
            Grow(ref _jobs, _jobCount + 1, _jobCount);
        }

        _jobs[_jobCount++] = new NodeJob(left, right, output);
        _maxHeight = Math.Max(_maxHeight, height);
        return output;
    }

    /// <summary>Notes that the caller wants the value at <paramref name="value"/> after <see cref="Run"/>, under <paramref name="tag"/>.</summary>
    public void Note(int tag, int value)
    {
        if (_resultCount == _results.Length)
        {
            Grow(ref _results, _resultCount + 1, _resultCount);
        }

        _results[_resultCount++] = (tag, value);
    }

    /// <summary>The value at <paramref name="position"/> (a hash only after <see cref="Run"/>).</summary>
    public Key256 this[int position] => NodeHasher.FromWords(_words.AsSpan(position * NodeHasher.ValueWords, NodeHasher.ValueWords));

    /// <summary>Computes every inner node gathered: the lowest level first, so that each reads finished values.</summary>
    public void Run()
    {
        if (_jobCount == 0)
        {
            return;
        }

        // Counting sort of the jobs by height (they were gathered children first, in depth-first order).
        if (_levelStarts.Length < _maxHeight + 2)
        {
            Grow(ref _levelStarts, _maxHeight + 2, 0);
        }

        if (_sorted.Length < _jobCount)
        {
            Grow(ref _sorted, _jobCount, 0);
        }

        Span<int> starts = _levelStarts.AsSpan(0, _maxHeight + 2);
        starts.Clear();
        for (int i = 0; i < _jobCount; i++)
        {
            starts[_heights[_jobs[i].Output] + 1]++;
        }

        for (int h = 1; h < starts.Length; h++)
        {
            starts[h] += starts[h - 1];
        }

        for (int i = 0; i < _jobCount; i++)
        {
            NodeJob job = _jobs[i];
            _sorted[starts[_heights[job.Output]]++] = job;
        }

        // starts[h] is now the end of height h's jobs; height 0 has none.
        int from = 0;
        for (int h = 1; h <= _maxHeight; h++)
        {
            int to = starts[h];
            Debug.Assert(to >= from, "Heights sort the jobs.");
            NodeHasher.HashAll(_words.AsSpan(0, _valueCount * NodeHasher.ValueWords), _sorted.AsSpan(from, to - from));
            from = to;
        }
    }

    /// <summary>Forgets every value, job and result; keeps the buffers.</summary>
    public void Clear()
    {
        _valueCount = 0;
        _jobCount = 0;
        _resultCount = 0;
        _maxHeight = 0;
    }

    /// <summary>Forgets everything and gives the buffers back to the pools (the next use rents them again).</summary>
    public void Release()
    {
        Clear();
        Return(ref _words);
        Return(ref _heights);
        Return(ref _jobs);
        Return(ref _sorted);
        Return(ref _levelStarts);
        Return(ref _results);
    }

    private int NewValue(int height)
    {
        if (_valueCount == _heights.Length)
        {
            Grow(ref _heights, _valueCount + 1, _valueCount);
            Grow(ref _words, _heights.Length * NodeHasher.ValueWords, _valueCount * NodeHasher.ValueWords);
        }

        _heights[_valueCount] = checked((ushort)height);
        return _valueCount++;
    }

    /// <summary>Replaces <paramref name="array"/> with a rented one of at least <paramref name="needed"/> elements (and at least twice as many), keeping its first <paramref name="keep"/>.</summary>
    private static void Grow<T>(ref T[] array, int needed, int keep)
    {
        T[] grown = ArrayPool<T>.Shared.Rent(Math.Max(needed, Math.Max(256, array.Length * 2)));
        array.AsSpan(0, keep).CopyTo(grown);
        Return(ref array);
        array = grown;
    }

    private static void Return<T>(ref T[] array)
    {
        if (array.Length > 0)
        {
            ArrayPool<T>.Shared.Return(array);
        }

        array = Array.Empty<T>();
    }
}

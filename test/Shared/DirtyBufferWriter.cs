using System;
using System.Buffers;
using System.Collections.Generic;

namespace StemeDb.Sync.Tests.Codec;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> test double that hands out fresh spans of exactly the requested size filled with
/// garbage (so a writer that relies on zeroed memory is caught) and rejects advancing past what it handed out.
/// </summary>
internal sealed class DirtyBufferWriter : IBufferWriter<byte>
{
    private readonly List<byte> _written = [];
    private byte[] _current = [];

    public byte[] WrittenBytes => [.. _written];

    public int GetSpanCalls { get; private set; }

    public void Advance(int count)
    {
        if (count < 0 || count > _current.Length)
        {
            throw new InvalidOperationException($"Advance({count}) past the {_current.Length} bytes handed out.");
        }

        _written.AddRange(_current.AsSpan(0, count).ToArray());
        _current = [];
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        GetSpanCalls++;
        _current = new byte[Math.Max(sizeHint, 1)];
        _current.AsSpan().Fill(0xCD);
        return _current;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}

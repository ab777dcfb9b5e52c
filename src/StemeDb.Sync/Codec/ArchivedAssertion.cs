using System;
using System.Buffers.Binary;
using System.Text;
using StemeDb.Sync.Codec.Internal;
using L = StemeDb.Sync.Codec.Internal.AssertionLayout;

namespace StemeDb.Sync;

/// <summary>
/// A validated, zero-copy view of an archived <c>Assertion</c>: every member reads straight from the buffer and
/// allocates nothing (except <see cref="ToAssertion"/>). Obtain one with <see cref="Access"/> or
/// <see cref="TryAccess"/>, which run the full rkyv validation first.
/// </summary>
internal readonly ref struct ArchivedAssertion
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _root;

    private ArchivedAssertion(ReadOnlySpan<byte> buffer, int root)
    {
        _buffer = buffer;
        _root = root;
    }

    /// <summary>The subject as UTF-8 bytes.</summary>
    public ReadOnlySpan<byte> Subject => StringRepr.Read(_buffer, _root + L.Subject);

    /// <summary>The predicate as UTF-8 bytes.</summary>
    public ReadOnlySpan<byte> Predicate => StringRepr.Read(_buffer, _root + L.Predicate);

    /// <summary>The object value.</summary>
    public ArchivedAssertionValue Object => new(_buffer, _root + L.Object);

    /// <summary>The hybrid logical clock timestamp.</summary>
    public HlcTimestamp Hlc => new(
        BinaryPrimitives.ReadUInt64LittleEndian(_buffer[(_root + L.HlcTime)..]),
        BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(_root + L.HlcCounter)..]),
        new NodeId(_buffer.Slice(_root + L.HlcNodeId, NodeId.Length)));

    /// <summary>The author node.</summary>
    public NodeId Author => new(_buffer.Slice(_root + L.Author, NodeId.Length));

    /// <summary>The confidence, if present.</summary>
    public float? Confidence => _buffer[_root + L.Confidence] == 0
        ? null
        : BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(_buffer[(_root + L.ConfidenceValue)..]));

    /// <summary>The hash of the superseded assertion, if present.</summary>
    public AssertionHash? Supersedes => _buffer[_root + L.Supersedes] == 0
        ? null
        : new AssertionHash(_buffer.Slice(_root + L.SupersedesValue, AssertionHash.Length));

    /// <summary>The tags, as UTF-8 byte spans.</summary>
    public ArchivedStringList Tags => new(
        _buffer,
        _root + L.Tags + BinaryPrimitives.ReadInt32LittleEndian(_buffer[(_root + L.Tags)..]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(_root + L.Tags + 4)..]));

    /// <summary>Validates <paramref name="data"/> as an archived assertion and returns a view of it.</summary>
    /// <param name="data">The untrusted bytes (an rkyv archive whose root is the <c>Assertion</c>).</param>
    /// <returns>The view.</returns>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archived assertion.</exception>
    public static ArchivedAssertion Access(ReadOnlySpan<byte> data)
    {
        if (!AssertionValidator.TryValidate(data, out int root, out RkyvError error))
        {
            throw new RkyvFormatException(error);
        }

        return new ArchivedAssertion(data, root);
    }

    /// <summary>Validates <paramref name="data"/> as an archived assertion without throwing.</summary>
    /// <param name="data">The untrusted bytes.</param>
    /// <param name="assertion">The view, when valid.</param>
    /// <param name="error">Why the bytes were rejected, when they were.</param>
    /// <returns><see langword="true"/> if the bytes are a valid archived assertion.</returns>
    public static bool TryAccess(ReadOnlySpan<byte> data, out ArchivedAssertion assertion, out RkyvError error)
    {
        if (AssertionValidator.TryValidate(data, out int root, out error))
        {
            assertion = new ArchivedAssertion(data, root);
            return true;
        }

        assertion = default;
        return false;
    }

    /// <summary>Decodes the whole assertion into a new <see cref="Assertion"/>.</summary>
    /// <returns>The decoded assertion.</returns>
    public Assertion ToAssertion()
    {
        ArchivedStringList tags = Tags;
        string[] decoded = tags.Count == 0 ? [] : new string[tags.Count];
        for (int i = 0; i < decoded.Length; i++)
        {
            decoded[i] = Encoding.UTF8.GetString(tags[i]);
        }

        return new Assertion(
            Encoding.UTF8.GetString(Subject),
            Encoding.UTF8.GetString(Predicate),
            Object.ToValue(),
            Hlc,
            Author,
            Confidence,
            Supersedes,
            decoded);
    }
}

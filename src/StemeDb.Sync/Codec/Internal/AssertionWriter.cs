using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using L = StemeDb.Sync.Codec.Internal.AssertionLayout;

namespace StemeDb.Sync.Codec.Internal;

/// <summary>
/// Hand-written rkyv serializer for <see cref="Assertion"/>: computes the whole layout first, then fills one span of
/// the output in rkyv's order (subject bytes, predicate bytes, object payload, tag bytes, tag representations, root).
/// </summary>
internal static class AssertionWriter
{
    private const int StackTags = 32;

    public static int GetLength(Assertion assertion) => Plan(assertion, []).Total;

    /// <summary>
    /// Writes the archive in one pass: strings are transcoded once, straight into a span sized by an upper bound
    /// (3 UTF-8 bytes per UTF-16 unit), and only the bytes actually used are committed.
    /// </summary>
    public static int Write(Assertion a, IBufferWriter<byte> output)
    {
        string[] tags = a.TagArray;
        AssertionValue obj = a.Object;
        long bound = MaxBytes(a.Subject) + MaxBytes(a.Predicate) + (8L * tags.Length) + 4 + 8 + L.Size;
        bound += obj.Kind switch
        {
            AssertionValueKind.Text => MaxBytes(obj.Text),
            AssertionValueKind.Bytes => obj.BytesSpan.Length,
            _ => 0,
        };
        foreach (string tag in tags)
        {
            bound += MaxBytes(tag);
        }

        if (bound > int.MaxValue)
        {
            bound = GetLength(a); // exact, and throws if even that is too long
        }

        int[]? rented = null;
        Span<int> tagLengths = tags.Length <= StackTags ? stackalloc int[StackTags] : (rented = ArrayPool<int>.Shared.Rent(tags.Length));
        try
        {
            Span<byte> span = output.GetSpan((int)bound);
            int total = Fill(a, tagLengths, span);
            output.Advance(total);
            return total;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    private static int Fill(Assertion a, Span<int> tagLengths, Span<byte> span)
    {
        int pos = 0;
        int subjectLength = WriteOutOfLine(a.Subject, span, ref pos);
        int subjectPos = pos - OutOfLine(subjectLength);
        int predicateLength = WriteOutOfLine(a.Predicate, span, ref pos);
        int predicatePos = pos - OutOfLine(predicateLength);

        AssertionValue obj = a.Object;
        int payloadPos = pos;
        int payloadLength = 0;
        if (obj.Kind == AssertionValueKind.Text)
        {
            payloadLength = WriteOutOfLine(obj.Text, span, ref pos);
        }
        else if (obj.Kind == AssertionValueKind.Bytes)
        {
            ReadOnlySpan<byte> bytes = obj.BytesSpan;
            bytes.CopyTo(span[pos..]);
            payloadLength = bytes.Length;
            pos += payloadLength;
        }

        string[] tags = a.TagArray;
        int tagBytesPos = pos;
        for (int i = 0; i < tags.Length; i++)
        {
            tagLengths[i] = WriteOutOfLine(tags[i], span, ref pos);
        }

        int tagsPos = Layout.AlignUp(pos, 4);
        span[pos..tagsPos].Clear();
        int bytesPos = tagBytesPos;
        for (int i = 0; i < tags.Length; i++)
        {
            int reprPos = tagsPos + (i * 8);
            WriteRepr(tags[i], tagLengths[i], bytesPos, reprPos, span);
            bytesPos += OutOfLine(tagLengths[i]);
        }

        pos = tagsPos + (tags.Length * 8);
        int root = Layout.AlignUp(pos, L.Alignment);
        Span<byte> r = span.Slice(pos, root - pos + L.Size);
        r.Clear();
        r = span.Slice(root, L.Size);

        WriteRepr(a.Subject, subjectLength, subjectPos, root + L.Subject, span);
        WriteRepr(a.Predicate, predicateLength, predicatePos, root + L.Predicate, span);
        r[L.Object] = (byte)obj.Kind;
        switch (obj.Kind)
        {
            case AssertionValueKind.Bool:
                r[L.ObjectBool] = (byte)obj.Bits;
                break;
            case AssertionValueKind.Int:
            case AssertionValueKind.Float:
                BinaryPrimitives.WriteInt64LittleEndian(r[L.ObjectNumber..], obj.Bits);
                break;
            case AssertionValueKind.Text:
                WriteRepr(obj.Text, payloadLength, payloadPos, root + L.ObjectPointer, span);
                break;
            case AssertionValueKind.Bytes:
                BinaryPrimitives.WriteInt32LittleEndian(r[L.ObjectPointer..], payloadPos - (root + L.ObjectPointer));
                BinaryPrimitives.WriteInt32LittleEndian(r[(L.ObjectPointer + 4)..], payloadLength);
                break;
            case AssertionValueKind.Ref:
                obj.Hash.CopyTo(r.Slice(L.ObjectRef, AssertionHash.Length));
                break;
            default:
                break;
        }

        HlcTimestamp hlc = a.Hlc;
        BinaryPrimitives.WriteUInt64LittleEndian(r[L.HlcTime..], hlc.Time);
        BinaryPrimitives.WriteUInt32LittleEndian(r[L.HlcCounter..], hlc.Counter);
        hlc.NodeId.CopyTo(r.Slice(L.HlcNodeId, NodeId.Length));
        a.Author.CopyTo(r.Slice(L.Author, NodeId.Length));
        if (a.Confidence is float confidence)
        {
            r[L.Confidence] = 1;
            BinaryPrimitives.WriteInt32LittleEndian(r[L.ConfidenceValue..], BitConverter.SingleToInt32Bits(confidence));
        }

        if (a.Supersedes is AssertionHash supersedes)
        {
            r[L.Supersedes] = 1;
            supersedes.CopyTo(r.Slice(L.SupersedesValue, AssertionHash.Length));
        }

        BinaryPrimitives.WriteInt32LittleEndian(r[L.Tags..], tagsPos - (root + L.Tags));
        BinaryPrimitives.WriteInt32LittleEndian(r[(L.Tags + 4)..], tags.Length);
        return root + L.Size;
    }

    /// <summary>
    /// Transcodes <paramref name="s"/> at <paramref name="pos"/> and keeps it there (advancing) if it is longer than
    /// 8 bytes; returns its UTF-8 length. Short strings are transcoded again into their representation later.
    /// </summary>
    private static int WriteOutOfLine(string s, Span<byte> span, ref int pos)
    {
        if (s.Length <= StringRepr.InlineCapacity && Ascii.IsValid(s))
        {
            return s.Length; // short ASCII: inline, one byte per unit
        }

        if (s.Length * 3 <= StringRepr.InlineCapacity)
        {
            // At most 2 UTF-16 units: at most 6 bytes, certainly inline. The length is found when writing the repr.
            return -1;
        }

        if (Utf8.FromUtf16(s, span[pos..], out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            throw LoneSurrogate();
        }

        written = CheckLength(written);
        if (written > StringRepr.InlineCapacity)
        {
            pos += written;
        }

        return written;
    }

    /// <summary>Writes the 8-byte representation; <paramref name="length"/> is -1 for a string known to be inline.</summary>
    private static void WriteRepr(string s, int length, int bytesPos, int reprPos, Span<byte> span)
    {
        Span<byte> repr = span.Slice(reprPos, StringRepr.InlineCapacity);
        if (length == s.Length && length <= StringRepr.InlineCapacity)
        {
            // ASCII (one byte per UTF-16 unit): narrow straight into the representation.
            Ascii.FromUtf16(s, repr, out _);
            repr[length..].Fill(0xFF);
        }
        else if (length <= StringRepr.InlineCapacity)
        {
            repr.Fill(0xFF);
            Encode(s, repr);
        }
        else
        {
            StringRepr.WriteOutOfLine(repr, length, reprPos, bytesPos);
        }
    }

    private static long MaxBytes(string s) => 3L * s.Length;

    private static ArgumentException LoneSurrogate() => new("A string holds a lone surrogate, which a Rust String cannot represent.");

    private static LayoutPlan Plan(Assertion a, Span<int> tagLengths)
    {
        // Counting with the lenient encoding is fast; a lone surrogate is caught when encoding (before anything is committed).
        UTF8Encoding utf8 = (UTF8Encoding)Encoding.UTF8;
        var plan = new LayoutPlan
        {
            SubjectLength = CheckLength(utf8.GetByteCount(a.Subject)),
            PredicateLength = CheckLength(utf8.GetByteCount(a.Predicate)),
        };

        long pos = 0;
        plan.SubjectPos = (int)pos;
        pos += OutOfLine(plan.SubjectLength);
        plan.PredicatePos = (int)pos;
        pos += OutOfLine(plan.PredicateLength);

        AssertionValue obj = a.Object;
        plan.PayloadPos = (int)pos;
        if (obj.Kind == AssertionValueKind.Text)
        {
            plan.PayloadLength = CheckLength(utf8.GetByteCount(obj.Text));
            pos += OutOfLine(plan.PayloadLength);
        }
        else if (obj.Kind == AssertionValueKind.Bytes)
        {
            plan.PayloadLength = obj.BytesSpan.Length;
            pos += plan.PayloadLength;
        }

        plan.TagBytesPos = (int)pos;
        string[] tags = a.TagArray;
        bool keep = !tagLengths.IsEmpty;
        for (int i = 0; i < tags.Length; i++)
        {
            int len = CheckLength(utf8.GetByteCount(tags[i]));
            if (keep)
            {
                tagLengths[i] = len;
            }

            pos += OutOfLine(len);
        }

        pos = Layout.AlignUp(pos, 4);
        plan.TagsPos = (int)pos;
        pos += 8L * tags.Length;
        pos = Layout.AlignUp(pos, L.Alignment);
        plan.Root = (int)pos;
        pos += L.Size;
        if (pos > int.MaxValue)
        {
            throw new ArgumentException("The assertion would serialize to more than 2 GiB.", nameof(a));
        }

        plan.Total = (int)pos;
        return plan;
    }

    private static void Encode(string s, Span<byte> destination)
    {
        if (Utf8.FromUtf16(s, destination, out _, out _, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            throw LoneSurrogate();
        }
    }

    private static int OutOfLine(int length) => length > StringRepr.InlineCapacity ? length : 0;

    private static int CheckLength(int length) => length <= StringRepr.MaxOutOfLineLength
        ? length
        : throw new ArgumentException($"A string of {length} UTF-8 bytes is longer than rkyv's limit of {StringRepr.MaxOutOfLineLength}.");

    private struct LayoutPlan
    {
        public int SubjectLength;
        public int SubjectPos;
        public int PredicateLength;
        public int PredicatePos;
        public int PayloadLength;
        public int PayloadPos;
        public int TagBytesPos;
        public int TagsPos;
        public int Root;
        public int Total;
    }
}

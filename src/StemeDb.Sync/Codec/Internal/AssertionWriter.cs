using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
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

    public static int Write(Assertion assertion, IBufferWriter<byte> output)
    {
        IReadOnlyList<string> tags = assertion.Tags;
        int[]? rented = null;
        Span<int> tagLengths = tags.Count <= StackTags ? stackalloc int[StackTags] : (rented = ArrayPool<int>.Shared.Rent(tags.Count));
        try
        {
            LayoutPlan plan = Plan(assertion, tagLengths);
            Span<byte> span = output.GetSpan(plan.Total)[..plan.Total];
            Fill(assertion, plan, tagLengths, span);
            output.Advance(plan.Total);
            return plan.Total;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    private static LayoutPlan Plan(Assertion a, Span<int> tagLengths)
    {
        UTF8Encoding utf8 = Utf8Strict.Encoding;
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

        IReadOnlyList<string> tags = a.Tags;
        bool keep = !tagLengths.IsEmpty;
        for (int i = 0; i < tags.Count; i++)
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
        pos += 8L * tags.Count;
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

    private static void Fill(Assertion a, LayoutPlan plan, ReadOnlySpan<int> tagLengths, Span<byte> span)
    {
        UTF8Encoding utf8 = Utf8Strict.Encoding;
        int root = plan.Root;
        Span<byte> r = span.Slice(root, L.Size);
        r.Clear();

        WriteString(a.Subject, plan.SubjectLength, plan.SubjectPos, root + L.Subject, span);
        WriteString(a.Predicate, plan.PredicateLength, plan.PredicatePos, root + L.Predicate, span);

        AssertionValue obj = a.Object;
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
                WriteString(obj.Text, plan.PayloadLength, plan.PayloadPos, root + L.ObjectPointer, span);
                break;
            case AssertionValueKind.Bytes:
                obj.BytesSpan.CopyTo(span[plan.PayloadPos..]);
                BinaryPrimitives.WriteInt32LittleEndian(r[L.ObjectPointer..], plan.PayloadPos - (root + L.ObjectPointer));
                BinaryPrimitives.WriteInt32LittleEndian(r[(L.ObjectPointer + 4)..], plan.PayloadLength);
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

        // Tag bytes (out-of-line ones) follow the object payload; the 8-byte representations follow, 4-aligned.
        IReadOnlyList<string> tags = a.Tags;
        int pos = plan.PayloadPos + (obj.Kind is AssertionValueKind.Text ? OutOfLine(plan.PayloadLength) : obj.Kind is AssertionValueKind.Bytes ? plan.PayloadLength : 0);
        int reprPos = plan.TagsPos;
        span[pos..reprPos].Clear();
        for (int i = 0; i < tags.Count; i++, reprPos += 8)
        {
            int len = tagLengths[i];
            Span<byte> repr = span.Slice(reprPos, 8);
            if (len <= StringRepr.InlineCapacity)
            {
                repr.Fill(0xFF);
                utf8.GetBytes(tags[i], repr);
            }
            else
            {
                utf8.GetBytes(tags[i], span[pos..]);
                StringRepr.WriteOutOfLine(repr, len, reprPos, pos);
                pos += len;
            }
        }

        span[reprPos..root].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(r[L.Tags..], plan.TagsPos - (root + L.Tags));
        BinaryPrimitives.WriteInt32LittleEndian(r[(L.Tags + 4)..], tags.Count);
    }

    private static void WriteString(string s, int length, int bytesPos, int reprPos, Span<byte> span)
    {
        Span<byte> repr = span.Slice(reprPos, 8);
        if (length <= StringRepr.InlineCapacity)
        {
            repr.Fill(0xFF);
            Utf8Strict.Encoding.GetBytes(s, repr);
        }
        else
        {
            Utf8Strict.Encoding.GetBytes(s, span[bytesPos..]);
            StringRepr.WriteOutOfLine(repr, length, reprPos, bytesPos);
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
        public int TagsPos;
        public int Root;
        public int Total;
    }
}

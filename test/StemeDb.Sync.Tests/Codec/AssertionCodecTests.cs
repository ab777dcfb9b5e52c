using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Tests.Codec;

[TestFixture]
public sealed class AssertionCodecTests
{
    public static IEnumerable<TestCaseData> AssertionVectors() =>
        Corpus.Vectors.Where(c => c.Type == "Assertion").Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    public static IEnumerable<TestCaseData> AssertionMutations() =>
        Corpus.Invalid.Where(c => c.Type == "Assertion").Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    [Test]
    public void AssertionLayout_Constants_MatchRustLayoutTable()
    {
        // Act / Assert: the offsets measured on the real Rust types (size_of/offset_of!), which the hand-written
        // codec uses.
        Assert.Multiple(() =>
        {
            Assert.That((AssertionLayout.Size, AssertionLayout.Alignment), Is.EqualTo((160, 8)));
            Assert.That(
                new[] { AssertionLayout.Subject, AssertionLayout.Predicate, AssertionLayout.Object, AssertionLayout.HlcTime, AssertionLayout.Author, AssertionLayout.Confidence, AssertionLayout.Supersedes, AssertionLayout.Tags },
                Is.EqualTo(new[] { 0, 8, 16, 56, 88, 104, 112, 148 }));
            Assert.That(AssertionLayout.HlcCounter - AssertionLayout.HlcTime, Is.EqualTo(8), "HlcTimestamp.counter");
            Assert.That(AssertionLayout.HlcNodeId - AssertionLayout.HlcTime, Is.EqualTo(12), "HlcTimestamp.node_id");
            Assert.That(AssertionLayout.ObjectBool - AssertionLayout.Object, Is.EqualTo(1), "Value::Bool");
            Assert.That(AssertionLayout.ObjectRef - AssertionLayout.Object, Is.EqualTo(1), "Value::Ref");
            Assert.That(AssertionLayout.ObjectPointer - AssertionLayout.Object, Is.EqualTo(4), "Value::Text and Value::Bytes");
            Assert.That(AssertionLayout.ObjectNumber - AssertionLayout.Object, Is.EqualTo(8), "Value::Int and Value::Float");
            Assert.That(AssertionLayout.ConfidenceValue - AssertionLayout.Confidence, Is.EqualTo(4), "Option<f32> payload");
            Assert.That(AssertionLayout.SupersedesValue - AssertionLayout.Supersedes, Is.EqualTo(1), "Option<[u8; 32]> payload");
        });
    }

    [TestCaseSource(nameof(AssertionVectors))]
    public void Encode_CorpusAssertion_ProducesRkyvBytes(CorpusCase c)
    {
        // Arrange
        Assertion assertion = CorpusAssertion.FromJson(c.Value!.Value);

        // Act
        byte[] bytes = AssertionCodec.Encode(assertion);

        // Assert
        Assert.That(Convert.ToHexString(bytes), Is.EqualTo(Convert.ToHexString(c.Bytes)));
        Assert.That(AssertionCodec.GetEncodedLength(assertion), Is.EqualTo(c.Bytes.Length));
    }

    [TestCaseSource(nameof(AssertionVectors))]
    public void Decode_CorpusBytes_ProducesCorpusAssertion(CorpusCase c)
    {
        // Arrange
        Assertion expected = CorpusAssertion.FromJson(c.Value!.Value);

        // Act
        Assertion actual = AssertionCodec.Decode(c.Bytes);

        // Assert
        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(AssertionVectors))]
    public void Access_CorpusBytes_FieldsMatchDecodedValue(CorpusCase c)
    {
        // Arrange
        Assertion expected = CorpusAssertion.FromJson(c.Value!.Value);

        // Act
        ArchivedAssertion view = ArchivedAssertion.Access(c.Bytes);

        // Assert
        Assert.That(Encoding.UTF8.GetString(view.Subject), Is.EqualTo(expected.Subject));
        Assert.That(Encoding.UTF8.GetString(view.Predicate), Is.EqualTo(expected.Predicate));
        Assert.That(view.Object.Kind, Is.EqualTo(expected.Object.Kind));
        Assert.That(view.Object.ToValue(), Is.EqualTo(expected.Object));
        Assert.That(view.Hlc, Is.EqualTo(expected.Hlc));
        Assert.That(view.Author, Is.EqualTo(expected.Author));
        Assert.That(view.Confidence, Is.EqualTo(expected.Confidence));
        Assert.That(view.Supersedes, Is.EqualTo(expected.Supersedes));
        var tags = new List<string>();
        foreach (ReadOnlySpan<byte> tag in view.Tags)
        {
            tags.Add(Encoding.UTF8.GetString(tag));
        }

        Assert.That(tags, Is.EqualTo(expected.Tags));
    }

    [TestCaseSource(nameof(AssertionMutations))]
    public void TryValidate_MutatedCorpusAssertion_MatchesRkyvDecision(CorpusCase c)
    {
        // Act
        bool ok = AssertionCodec.TryValidate(c.Bytes, out RkyvError error);
        bool adapterOk = RkyvAssertionValidator.Instance.TryValidate(c.Bytes, out string? message);

        // Assert
        Assert.That(ok, Is.EqualTo(c.Valid), $"mutation: {c.Mutation}; error: {error}");
        Assert.That(adapterOk, Is.EqualTo(c.Valid));
        Assert.That(message is null, Is.EqualTo(c.Valid));
        if (!c.Valid)
        {
            Assert.That(error.Kind, Is.EqualTo(ErrorKinds.Parse(c.ErrorKind!)));
            Assert.That(() => AssertionCodec.Decode(c.Bytes), Throws.TypeOf<RkyvFormatException>().With.Property(nameof(RkyvFormatException.Error)).Property(nameof(RkyvError.Kind)).EqualTo(error.Kind));
            Assert.That(AssertionCodec.TryDecode(c.Bytes, out Assertion? none, out _), Is.False);
            Assert.That(none, Is.Null);
        }
        else
        {
            Assertion expected = CorpusAssertion.FromJson(c.Value!.Value);
            Assert.That(AssertionCodec.Decode(c.Bytes), Is.EqualTo(expected));
        }
    }

    [Test]
    public void ValidateAndAccess_ValidAssertion_AllocatesNothing()
    {
        // Arrange
        byte[] data = AssertionCodec.Encode(Samples.Typical());
        var validator = RkyvAssertionValidator.Instance;
        Consume(data, validator); // warm up (JIT, statics)

        // Act
        long before = GC.GetAllocatedBytesForCurrentThread();
        long sink = 0;
        for (int i = 0; i < 100; i++)
        {
            sink += Consume(data, validator);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert
        Assert.That(sink, Is.Not.Zero);
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void TryValidate_HostileLengths_AllocatesNothing()
    {
        // Arrange: a valid archive whose tag vec claims u32::MAX elements, and one whose subject claims 2^30 - 1 bytes.
        byte[] valid = AssertionCodec.Encode(Samples.Typical());
        int root = valid.Length - AssertionLayout.Size;
        byte[] manyTags = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(manyTags.AsSpan(root + AssertionLayout.Tags + 4), uint.MaxValue);
        byte[] longSubject = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(longSubject.AsSpan(root + AssertionLayout.Subject), StringRepr.EncodeLengthWord(StringRepr.MaxOutOfLineLength));
        BinaryPrimitives.WriteInt32LittleEndian(longSubject.AsSpan(root + AssertionLayout.Subject + 4), -root);
        AssertionCodec.TryValidate(manyTags, out _);
        AssertionCodec.TryDecode(longSubject, out _, out _);

        // Act
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool tagsOk = AssertionCodec.TryValidate(manyTags, out RkyvError tagsError);
        bool subjectOk = AssertionCodec.TryValidate(longSubject, out RkyvError subjectError);
        bool decoded = AssertionCodec.TryDecode(longSubject, out Assertion? none, out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert
        Assert.That((tagsOk, tagsError.Kind), Is.EqualTo((false, RkyvErrorKind.SubtreeRange)));
        Assert.That((subjectOk, subjectError.Kind), Is.EqualTo((false, RkyvErrorKind.SubtreeRange)));
        Assert.That(decoded, Is.False);
        Assert.That(none, Is.Null);
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void Encode_IntoReusedBufferWriter_AllocatesNothing()
    {
        // Arrange
        Assertion assertion = Samples.Typical();
        var output = new ArrayBufferWriter<byte>(4096);
        AssertionCodec.Encode(assertion, output);
        output.ResetWrittenCount();

        // Act
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            AssertionCodec.Encode(assertion, output);
            output.ResetWrittenCount();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void Encode_LoneSurrogate_ThrowsAndWritesNothing()
    {
        // Arrange
        var assertion = new Assertion("user:\ud800", "p", AssertionValue.Null, default, default);
        var output = new ArrayBufferWriter<byte>();

        // Act / Assert
        Assert.That(() => AssertionCodec.Encode(assertion, output), Throws.InstanceOf<ArgumentException>());
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void Validate_EmptyBuffer_ThrowsRkyvFormatException()
    {
        // Act / Assert
        RkyvFormatException ex = Assert.Throws<RkyvFormatException>(() => AssertionCodec.Validate(ReadOnlySpan<byte>.Empty))!;
        Assert.That(ex.Error.Kind, Is.EqualTo(RkyvErrorKind.SubtreeRange));
    }

    [Test]
    public void ArchivedValue_WrongKindAccessor_ThrowsInvalidOperation()
    {
        // Arrange
        byte[] data = AssertionCodec.Encode(Samples.Typical());

        // Act / Assert
        Assert.That(() => ArchivedAssertion.Access(data).Object.AsInt(), Throws.InvalidOperationException);
        Assert.That(ArchivedAssertion.Access(data).Object.AsText().Length, Is.GreaterThan(0));
    }

    [Test]
    public void TryValidate_MisalignedMemoryButAlignedOffsets_Accepts()
    {
        // Arrange: offsets are judged relative to the start of the span, not by machine address.
        byte[] data = AssertionCodec.Encode(Samples.Typical());
        byte[] shifted = new byte[data.Length + 3];
        data.CopyTo(shifted, 3);

        // Act
        bool ok = AssertionCodec.TryValidate(shifted.AsSpan(3), out RkyvError error);

        // Assert
        Assert.That(ok, Is.True, error.ToString());
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    [TestCase(12)]
    public void TryValidate_PrefixNotMultipleOfEight_RejectsUnaligned(int prefix)
    {
        // Arrange
        byte[] data = AssertionCodec.Encode(Samples.Typical());
        byte[] prefixed = new byte[prefix + data.Length];
        data.CopyTo(prefixed, prefix);

        // Act
        bool ok = AssertionCodec.TryValidate(prefixed, out RkyvError error);

        // Assert
        Assert.That(ok, Is.False);
        Assert.That(error.Kind, Is.EqualTo(RkyvErrorKind.Unaligned));
    }

    private static long Consume(byte[] data, RkyvAssertionValidator validator)
    {
        if (!validator.TryValidate(data, out _) || !ArchivedAssertion.TryAccess(data, out ArchivedAssertion view, out _))
        {
            return 0;
        }

        long sum = view.Subject.Length + view.Predicate.Length + view.Object.AsText().Length + (long)view.Hlc.Time;
        sum += view.Author.GetHashCode() + (view.Confidence is float f ? (long)f : 0) + (view.Supersedes.HasValue ? 1 : 0);
        foreach (ReadOnlySpan<byte> tag in view.Tags)
        {
            sum += tag.Length;
        }

        return sum;
    }
}

/// <summary>The codec never relies on zeroed memory and respects the <see cref="IBufferWriter{T}"/> contract.</summary>
[TestFixture]
public sealed class BufferWriterContractTests
{
    [TestCaseSource(typeof(AssertionCodecTests), nameof(AssertionCodecTests.AssertionVectors))]
    public void AssertionEncode_IntoDirtySpan_ProducesRkyvBytesWithOneSpan(CorpusCase c)
    {
        // Arrange
        Assertion assertion = CorpusAssertion.FromJson(c.Value!.Value);
        var output = new DirtyBufferWriter();

        // Act
        int written = AssertionCodec.Encode(assertion, output);

        // Assert
        Assert.That(written, Is.EqualTo(c.Bytes.Length));
        Assert.That(output.WrittenBytes, Is.EqualTo(c.Bytes));
        Assert.That(output.GetSpanCalls, Is.EqualTo(1));
    }
}

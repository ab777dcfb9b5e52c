using System;
using System.Linq;
using System.Text;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Tests.Codec;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

[TestFixture]
public sealed class RkyvViewTests
{
    [Test]
    public void Access_NestedCorpusCase_ReadsFieldsInPlace()
    {
        // Arrange
        CorpusCase c = Corpus.Vectors.Single(v => v.Name == "nested_all_some");
        var expected = (System.Collections.Generic.IReadOnlyDictionary<string, object?>)RkyvSerializer.Deserialize(CorpusTypes.Nested, c.Bytes)!;

        // Act
        RkyvView root = RkyvView.Access(CorpusTypes.Nested, c.Bytes);
        RkyvView inner = root.Field("inner");
        RkyvView first = root.Field("first");
        RkyvView boxed = root.Field("boxed");

        // Assert
        Assert.That(root.Field("id").GetUInt64(), Is.EqualTo((ulong)expected["id"]!));
        var expectedInner = (object?[])expected["inner"]!;
        Assert.That(inner.Count, Is.EqualTo(expectedInner.Length));
        for (int i = 0; i < inner.Count; i++)
        {
            var e = (System.Collections.Generic.IReadOnlyDictionary<string, object?>)expectedInner[i]!;
            Assert.That(inner.Element(i).Field("id").GetUInt32(), Is.EqualTo((uint)e["id"]!));
            Assert.That(Encoding.UTF8.GetString(inner.Element(i).Field("name").GetUtf8()), Is.EqualTo((string)e["name"]!));
            Assert.That(inner.Element(i).Field(2).GetBoolean(), Is.EqualTo((bool)e["flag"]!));
        }

        Assert.That(first.HasValue, Is.True);
        Assert.That(first.Value.Field("name").GetString(), Is.EqualTo(((System.Collections.Generic.IReadOnlyDictionary<string, object?>)expected["first"]!)["name"]));
        Assert.That(boxed.HasValue, Is.True);
        Assert.That(boxed.Value.Value.Field("id").GetUInt32(), Is.EqualTo((uint)((System.Collections.Generic.IReadOnlyDictionary<string, object?>)expected["boxed"]!)["id"]!));
        DynamicValues.AssertEqual(expected, root.ToValue());
    }

    [Test]
    public void Access_EnumAndBytes_ReadsActiveVariant()
    {
        // Arrange
        CorpusCase shapes = Corpus.Vectors.Single(v => v.Name == "shapes_every_variant");
        CorpusCase fixedCase = Corpus.Vectors.Single(v => v.Name == "fixed_sequence");

        // Act
        RkyvView items = RkyvView.Access(CorpusTypes.Shapes, shapes.Bytes).Field("items");
        RkyvView fixedView = RkyvView.Access(CorpusTypes.Fixed, fixedCase.Bytes);

        // Assert
        Assert.That(items.Element(0).Variant.Name, Is.EqualTo("Empty"));
        Assert.That(items.Element(1).Field(0).GetDouble(), Is.EqualTo(2.5));
        Assert.That(items.Element(2).Field("w").GetUInt32(), Is.EqualTo(uint.MaxValue));
        Assert.That(items.Element(3).Field(0).GetString(), Is.EqualTo("hi"));
        Assert.That(fixedView.Field("hash").GetBytes().ToArray(), Is.EqualTo(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.That(fixedView.Field("pair").Field(1).GetUInt32(), Is.EqualTo(16909060u));
    }

    [Test]
    public void View_WrongNavigation_ThrowsInvalidOperation()
    {
        // Arrange
        byte[] bytes = Corpus.Vectors.Single(v => v.Name == "inner_inline_name").Bytes;

        // Act / Assert
        Assert.That(() => RkyvView.Access(CorpusTypes.Inner, bytes).Field("nope"), Throws.InvalidOperationException);
        Assert.That(() => RkyvView.Access(CorpusTypes.Inner, bytes).Field("id").GetInt32(), Throws.InvalidOperationException);
        Assert.That(() => RkyvView.Access(CorpusTypes.Inner, bytes).Field("id").Element(0), Throws.InvalidOperationException);
        Assert.That(() => RkyvView.Access(CorpusTypes.Inner, bytes).Field(3), Throws.InvalidOperationException);
    }

    [Test]
    public void TryAccess_InvalidBytes_ReportsErrorWithoutThrowing()
    {
        // Arrange
        byte[] bytes = Corpus.Invalid.First(c => c.Type == "Nested" && !c.Valid).Bytes;

        // Act
        bool ok = RkyvView.TryAccess(CorpusTypes.Nested, bytes, out _, out RkyvError error);

        // Assert
        Assert.That(ok, Is.False);
        Assert.That(error.IsError, Is.True);
        Assert.That(() => RkyvView.Access(CorpusTypes.Nested, bytes), Throws.TypeOf<RkyvFormatException>());
    }

    [Test]
    public void AccessAndRead_ValidArchive_AllocatesNothing()
    {
        // Arrange
        byte[] bytes = Corpus.Vectors.Single(v => v.Name == "nested_all_some").Bytes;
        long Read()
        {
            RkyvView root = RkyvView.Access(CorpusTypes.Nested, bytes);
            RkyvView inner = root.Field("inner");
            long sum = (long)root.Field("id").GetUInt64();
            for (int i = 0; i < inner.Count; i++)
            {
                sum += inner.Element(i).Field("name").GetUtf8().Length;
            }

            return sum;
        }

        Read();

        // Act
        long before = GC.GetAllocatedBytesForCurrentThread();
        long total = 0;
        for (int i = 0; i < 50; i++)
        {
            total += Read();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert
        Assert.That(total, Is.Not.Zero);
        Assert.That(allocated, Is.Zero);
    }
}

using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

[TestFixture]
public sealed class RkyvTypeTests
{
    // Sizes, alignments and field offsets measured with size_of/offset_of! on the real archived Rust types.
    [TestCase("Primitives", 56, 8, new[] { 0, 1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 52 })]
    [TestCase("Strings", 8, 4, new[] { 0 })]
    [TestCase("Blob", 8, 4, new[] { 0 })]
    [TestCase("Numbers", 24, 4, new[] { 0, 8, 16 })]
    [TestCase("Inner", 16, 4, new[] { 0, 4, 12 })]
    [TestCase("Nested", 48, 8, new[] { 0, 8, 16, 36 })]
    [TestCase("Opts", 56, 8, new[] { 0, 8, 24, 36, 48 })]
    [TestCase("Point", 8, 4, new[] { 0, 4 })]
    [TestCase("Fixed", 72, 8, new[] { 0, 32, 48, 56 })]
    [TestCase("HlcTimestamp", 32, 8, new[] { 0, 8, 12 })]
    [TestCase("Assertion", 160, 8, new[] { 0, 8, 16, 56, 88, 104, 112, 148 })]
    public void Struct_CorpusType_HasRustLayout(string name, int size, int alignment, int[] offsets)
    {
        // Arrange / Act
        RkyvType type = CorpusTypes.ByName[name];

        // Assert
        Assert.That((type.Size, type.Alignment), Is.EqualTo((size, alignment)));
        Assert.That(type.Fields.Select(f => f.Offset), Is.EqualTo(offsets));
    }

    [Test]
    public void Enum_CorpusEnums_HaveRustLayout()
    {
        // Arrange
        RkyvType shape = CorpusTypes.Shape;
        RkyvType value = CorpusTypes.Value;

        // Assert
        Assert.That((shape.Size, shape.Alignment), Is.EqualTo((16, 8)));
        Assert.That(shape.FindVariant("Circle")!.Fields[0].Offset, Is.EqualTo(8));
        Assert.That(shape.FindVariant("Rect")!.Fields.Select(f => f.Offset), Is.EqualTo(new[] { 4, 8 }));
        Assert.That(shape.FindVariant("Poly")!.Index, Is.EqualTo(4));
        Assert.That((value.Size, value.Alignment), Is.EqualTo((40, 8)));
    }

    [Test]
    public void Option_PayloadAndSize_FollowRepr()
    {
        // Assert: sizes quoted from the corpus notes.
        Assert.Multiple(() =>
        {
            Assert.That(RkyvType.Option(RkyvType.U8).Size, Is.EqualTo(2));
            Assert.That(RkyvType.Option(RkyvType.U64).Size, Is.EqualTo(16));
            Assert.That(RkyvType.Option(RkyvType.F32).Size, Is.EqualTo(8));
            Assert.That(RkyvType.Option(RkyvType.String).Size, Is.EqualTo(12));
            Assert.That(RkyvType.Option(CorpusTypes.Inner).Size, Is.EqualTo(20));
            Assert.That(RkyvType.Option(RkyvType.Box(CorpusTypes.Inner)).Size, Is.EqualTo(8));
            Assert.That(RkyvType.Option(RkyvType.Array(RkyvType.U8, 32)).Size, Is.EqualTo(33));
            Assert.That(RkyvType.Tuple(RkyvType.U16, RkyvType.Bool, RkyvType.U64).Fields.Select(f => f.Offset), Is.EqualTo(new[] { 0, 2, 8 }));
        });
    }

    [Test]
    public void Factories_InvalidDescriptions_ThrowArgumentException()
    {
        // Act / Assert
        Assert.That(() => RkyvType.Struct("S", ("a", RkyvType.U8), ("a", RkyvType.U16)), Throws.ArgumentException);
        Assert.That(() => RkyvType.Enum("E"), Throws.ArgumentException);
        Assert.That(() => RkyvType.Enum("E", Enumerable.Range(0, 257).Select(i => RkyvVariant.Unit("V" + i)).ToArray()), Throws.ArgumentException);
        Assert.That(() => RkyvType.Enum("E", RkyvVariant.Unit("A"), RkyvVariant.Unit("A")), Throws.ArgumentException);
        Assert.That(() => RkyvType.Array(RkyvType.U64, -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => RkyvType.Array(RkyvType.U64, int.MaxValue), Throws.ArgumentException);
        Assert.That(() => RkyvType.Vec(RkyvType.Tuple()), Throws.ArgumentException);
        Assert.That(() => RkyvVariant.Tuple("T"), Throws.ArgumentException);
        Assert.That(() => RkyvType.Struct("", ("a", RkyvType.U8)), Throws.ArgumentException);
    }

    [Test]
    public void Enum_TwoHundredFiftySixVariants_LastTagIs255()
    {
        // Arrange
        RkyvType e = RkyvType.Enum("Big", Enumerable.Range(0, 256).Select(i => RkyvVariant.Unit("V" + i)).ToArray());

        // Act
        byte[] bytes = RkyvSerializer.Serialize(e, new RkyvEnumValue("V255"));

        // Assert
        Assert.That(bytes, Is.EqualTo(new byte[] { 255 }));
        Assert.That(((RkyvEnumValue)RkyvSerializer.Deserialize(e, bytes)!).Variant, Is.EqualTo("V255"));
    }

    [Test]
    public void Serialize_ValueNotMatchingSchema_ThrowsAndWritesNothing()
    {
        // Arrange
        var output = new ArrayBufferWriter<byte>();
        var missingField = new Dictionary<string, object?> { ["id"] = 1u, ["name"] = "a long enough name" };
        var wrongType = new Dictionary<string, object?> { ["id"] = 1, ["name"] = "a long enough name", ["flag"] = true };

        // Act / Assert
        Assert.That(() => RkyvSerializer.Serialize(CorpusTypes.Inner, missingField, output), Throws.ArgumentException);
        Assert.That(() => RkyvSerializer.Serialize(CorpusTypes.Inner, wrongType, output), Throws.ArgumentException);
        Assert.That(() => RkyvSerializer.Serialize(CorpusTypes.Shape, new RkyvEnumValue("Hexagon"), output), Throws.ArgumentException);
        Assert.That(() => RkyvSerializer.Serialize(CorpusTypes.Strings, new Dictionary<string, object?> { ["items"] = new object?[] { "\udc00 lone" } }, output), Throws.ArgumentException);
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void Serialize_WrongLeafType_MessageNamesThePath()
    {
        // Arrange
        var value = new Dictionary<string, object?>
        {
            ["id"] = 1UL,
            ["inner"] = new object?[] { new Dictionary<string, object?> { ["id"] = 1u, ["name"] = "n", ["flag"] = 1 } },
            ["first"] = null,
            ["boxed"] = null,
        };

        // Act / Assert
        Assert.That(
            () => RkyvSerializer.Serialize(CorpusTypes.Nested, value),
            Throws.ArgumentException.With.Message.Contains("root.inner[0].flag").And.Message.Contains("bool"));
    }

    [TestCase("{\"id\": 1, \"name\": \"x\"}")]
    [TestCase("{\"id\": 1, \"name\": \"x\", \"flag\": true, \"extra\": 0}")]
    [TestCase("{\"id\": -1, \"name\": \"x\", \"flag\": true}")]
    [TestCase("{\"id\": 4294967296, \"name\": \"x\", \"flag\": true}")]
    [TestCase("{\"id\": 1.5, \"name\": \"x\", \"flag\": true}")]
    [TestCase("{\"id\": 1, \"name\": 5, \"flag\": true}")]
    [TestCase("[1, \"x\", true]")]
    public void ToArchive_JsonNotMatchingSchema_ThrowsJsonException(string json)
    {
        // Act / Assert
        Assert.That(() => RkyvJson.ToArchive(CorpusTypes.Inner, json), Throws.InstanceOf<JsonException>());
    }

    [TestCase("\"Circle\"")]
    [TestCase("{\"Circle\": 1, \"Empty\": null}")]
    [TestCase("{\"Rect\": {\"w\": 1}}")]
    [TestCase("{\"Poly\": [{\"x\": 1}]}")]
    [TestCase("\"Square\"")]
    public void ToArchive_BadEnumJson_ThrowsJsonException(string json)
    {
        // Act / Assert
        Assert.That(() => RkyvJson.ToArchive(CorpusTypes.Shape, json), Throws.InstanceOf<JsonException>());
    }

    [Test]
    public void FromArchive_NonAsciiText_IsNotEscaped()
    {
        // Arrange
        byte[] bytes = RkyvJson.ToArchive(CorpusTypes.Inner, "{\"id\": 1, \"name\": \"Grüße, 日本\", \"flag\": false}");

        // Act
        string json = RkyvJson.FromArchive(CorpusTypes.Inner, bytes);

        // Assert
        Assert.That(json, Is.EqualTo("{\"id\":1,\"name\":\"Grüße, 日本\",\"flag\":false}"));
    }

    [Test]
    public void Json_NonFiniteFloats_RoundTripAsNamedStrings()
    {
        // Arrange
        RkyvType type = RkyvType.Tuple(RkyvType.F64, RkyvType.F32, RkyvType.F64);
        object?[] value = [double.PositiveInfinity, float.NegativeInfinity, double.NaN];

        // Act
        string json = RkyvJson.FromArchive(type, RkyvSerializer.Serialize(type, value));
        object? back = RkyvSerializer.Deserialize(type, RkyvJson.ToArchive(type, json));

        // Assert
        Assert.That(json, Is.EqualTo("[\"Infinity\",\"-Infinity\",\"NaN\"]"));
        DynamicValues.AssertEqual(value, back);
    }

    [Test]
    public void Json_Char_IsOneScalarString()
    {
        // Arrange
        RkyvType type = RkyvType.Vec(RkyvType.Char);

        // Act
        byte[] bytes = RkyvJson.ToArchive(type, "[\"A\", \"\\ud83d\\ude00\", \"\\u0000\"]");

        // Assert
        using (JsonDocument doc = JsonDocument.Parse(RkyvJson.FromArchive(type, bytes)))
        {
            Assert.That(doc.RootElement.EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "A", "\ud83d\ude00", "\0" }));
        }

        Assert.That(() => RkyvJson.ToArchive(type, "[\"AB\"]"), Throws.InstanceOf<JsonException>());
        Assert.That(() => RkyvJson.ToArchive(type, "[\"\\ud83d\"]"), Throws.InstanceOf<JsonException>());
    }
}

using System;
using System.ComponentModel;

namespace StemeDb.Sync.Tests;

[TestFixture]
public class NodeIdTests
{
    [Test]
    public void FromGuid_UsesNetworkByteOrder()
    {
        var guid = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");

        NodeId id = NodeId.FromGuid(guid);

        Assert.That(id.ToString(), Is.EqualTo("00112233445566778899aabbccddeeff"));
        Assert.That(id.ToArray(), Is.EqualTo(Convert.FromHexString("00112233445566778899aabbccddeeff")));
        // Guid.ToByteArray() is mixed-endian: the first three groups are little-endian.
        Assert.That(guid.ToByteArray()[0], Is.EqualTo(0x33));
        Assert.That(id.ToGuid(), Is.EqualTo(guid));
    }

    [Test]
    public void Constructor_WrongLength_ThrowsArgumentExceptionNamingExpectedLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new NodeId(new byte[15]));
        Assert.That(ex!.Message, Does.Contain("16"));
        Assert.Throws<ArgumentException>(() => _ = new NodeId(new byte[32]));
        Assert.That(NodeId.TryCreate(new byte[17], out _), Is.False);
    }

    [Test]
    public void Parse_AcceptsHexAndHyphenatedUuid()
    {
        NodeId a = NodeId.Parse("00112233445566778899AABBCCDDEEFF");
        NodeId b = NodeId.Parse("00112233-4455-6677-8899-aabbccddeeff");

        Assert.That(a, Is.EqualTo(b));
        Assert.Throws<FormatException>(() => NodeId.Parse("0011"));
        Assert.Throws<FormatException>(() => NodeId.Parse("gg112233445566778899aabbccddeeff"));
    }

    [Test]
    public void NewId_IsVersion4WithRfcVariant_AndUnique()
    {
        NodeId a = NodeId.NewId();
        NodeId b = NodeId.NewId();
        byte[] bytes = a.ToArray();

        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(bytes[6] >> 4, Is.EqualTo(4));
        Assert.That(bytes[8] >> 6, Is.EqualTo(0b10));
        Assert.That(a.ToGuid().Version, Is.EqualTo(4));
    }

    [Test]
    public void CompareTo_IsUnsignedLexicographic()
    {
        NodeId small = NodeId.Parse("7fffffffffffffffffffffffffffffff");
        NodeId large = NodeId.Parse("80000000000000000000000000000000");
        NodeId lastByte = NodeId.Parse("000000000000000000000000000000ff");

        Assert.That(small < large, Is.True);
        Assert.That(NodeId.Empty < lastByte, Is.True);
        Assert.That(lastByte < small, Is.True);
    }

    [Test]
    public void TypeConverter_RoundTrip_ReturnsTheSameId()
    {
        TypeConverter converter = TypeDescriptor.GetConverter(typeof(NodeId));
        NodeId id = NodeId.NewId();

        string? text = converter.ConvertToInvariantString(id);
        object? back = converter.ConvertFromInvariantString(text!);

        Assert.That(converter.CanConvertFrom(typeof(string)), Is.True);
        Assert.That(text, Is.EqualTo(id.ToString()));
        Assert.That(back, Is.EqualTo(id));
    }

    [Test]
    public void TypeConverter_HyphenatedUuid_Parses()
    {
        TypeConverter converter = TypeDescriptor.GetConverter(typeof(NodeId));

        object? id = converter.ConvertFromInvariantString("00112233-4455-6677-8899-aabbccddeeff");

        Assert.That(id, Is.EqualTo(NodeId.Parse("00112233445566778899aabbccddeeff")));
    }

    [TestCase("")]
    [TestCase("not-a-node-id")]
    [TestCase("0011")]
    public void TypeConverter_BadString_ThrowsFormatExceptionQuotingIt(string text)
    {
        TypeConverter converter = TypeDescriptor.GetConverter(typeof(NodeId));

        var ex = Assert.Throws<FormatException>(() => converter.ConvertFromInvariantString(text));

        Assert.That(ex!.Message, Does.Contain($"'{text}'"));
    }
}

using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Tests.Codec;

[TestFixture]
public sealed class AssertionModelTests
{
    [Test]
    public void Constructor_TagsList_IsCopied()
    {
        // Arrange
        var tags = new List<string> { "a" };

        // Act
        var assertion = new Assertion("s", "p", AssertionValue.Null, default, default, tags: tags);
        tags.Add("b");

        // Assert
        Assert.That(assertion.Tags, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public void Constructor_NullTag_ThrowsArgumentNull()
    {
        // Act / Assert
        Assert.That(() => new Assertion("s", "p", AssertionValue.Null, default, default, tags: new List<string> { null! }), Throws.ArgumentNullException);
        Assert.That(() => new Assertion(null!, "p", AssertionValue.Null, default, default), Throws.ArgumentNullException);
    }

    [Test]
    public void Equals_SameContent_IsTrueAndFloatsCompareByBits()
    {
        // Arrange
        Assertion a = Samples.Typical();
        Assertion b = AssertionCodec.Decode(AssertionCodec.Encode(a));

        // Act / Assert
        Assert.That(b, Is.EqualTo(a));
        Assert.That(b.GetHashCode(), Is.EqualTo(a.GetHashCode()));
        Assert.That(AssertionValue.FromFloat(0.0), Is.Not.EqualTo(AssertionValue.FromFloat(-0.0)));
        AssertionValue nan = AssertionValue.FromFloat(double.NaN);
        Assert.That(AssertionValue.FromFloat(BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(double.NaN))), Is.EqualTo(nan));
        byte[] bytes = [1, 2];
        Assert.That(AssertionValue.FromBytes(bytes), Is.EqualTo(AssertionValue.FromBytes(new byte[] { 1, 2 })));
        Assert.That(AssertionValue.FromText("x"), Is.Not.EqualTo(AssertionValue.FromBytes("x"u8)));
    }

    [Test]
    public void AsAccessor_WrongKind_ThrowsInvalidOperation()
    {
        // Arrange
        AssertionValue value = AssertionValue.FromInt(5);

        // Act / Assert
        Assert.That(value.AsInt(), Is.EqualTo(5));
        Assert.That(() => value.AsText(), Throws.InvalidOperationException);
        Assert.That(() => AssertionValue.Null.AsBool(), Throws.InvalidOperationException);
        Assert.That(value.ToString(), Is.EqualTo("Int(5)"));
    }
}

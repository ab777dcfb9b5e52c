using System;
using System.Linq;

namespace StemeDb.Sync.Tests;

[TestFixture]
public class AssertionHashTests
{
    private static byte[] Bytes(Func<int, int> f) => Enumerable.Range(0, 32).Select(i => (byte)f(i)).ToArray();

    [Test]
    public void Constructor_WrongLength_ThrowsArgumentExceptionNamingExpectedLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new AssertionHash(new byte[31]));
        Assert.That(ex!.Message, Does.Contain("32"));
        Assert.Throws<ArgumentException>(() => _ = new AssertionHash(new byte[33]));
        Assert.Throws<ArgumentException>(() => _ = new AssertionHash(ReadOnlySpan<byte>.Empty));
    }

    [Test]
    public void RoundTrip_BytesAndHex_Preserved()
    {
        byte[] bytes = Bytes(i => i * 7 + 3);
        var hash = new AssertionHash(bytes);

        Assert.That(hash.ToArray(), Is.EqualTo(bytes));
        Assert.That(hash.ToString(), Is.EqualTo(Convert.ToHexString(bytes).ToLowerInvariant()));
        Assert.That(AssertionHash.Parse(hash.ToString()), Is.EqualTo(hash));
        Assert.That(AssertionHash.Parse(hash.ToString().ToUpperInvariant()), Is.EqualTo(hash));
    }

    [TestCase("")]
    [TestCase("00")]
    [TestCase("zz00000000000000000000000000000000000000000000000000000000000000")]
    [TestCase("000000000000000000000000000000000000000000000000000000000000000")]
    [TestCase("00000000000000000000000000000000000000000000000000000000000000000")]
    public void Parse_Malformed_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => AssertionHash.Parse(text));
        Assert.That(AssertionHash.TryParse(text, out _), Is.False);
    }

    [Test]
    public void CompareTo_IsUnsignedLexicographic()
    {
        var low = new AssertionHash(Bytes(i => i == 31 ? 0x01 : 0));
        var high = new AssertionHash(Bytes(i => i == 0 ? 0x80 : 0)); // 0x80 would be negative if signed
        var mid = new AssertionHash(Bytes(i => i == 7 ? 0xFF : 0));

        Assert.That(low < mid, Is.True);
        Assert.That(mid < high, Is.True);
        Assert.That(AssertionHash.Zero < low, Is.True);
        Assert.That(high < AssertionHash.MaxValue, Is.True);
        Assert.That(high.CompareTo(high), Is.Zero);
    }

    [Test]
    public void Ordering_MatchesBytewiseComparisonOnRandomValues()
    {
        var random = new Random(42);
        for (int n = 0; n < 2000; n++)
        {
            byte[] a = new byte[32];
            byte[] b = new byte[32];
            random.NextBytes(a);
            random.NextBytes(b);
            if (n % 3 == 0)
            {
                Array.Copy(a, b, random.Next(32)); // long shared prefixes
            }

            int expected = Math.Sign(a.AsSpan().SequenceCompareTo(b));
            Assert.That(Math.Sign(new AssertionHash(a).CompareTo(new AssertionHash(b))), Is.EqualTo(expected));
        }
    }

    [Test]
    public void Equality_IsBytewise()
    {
        var a = new AssertionHash(Bytes(i => i));
        var b = new AssertionHash(Bytes(i => i));
        var c = new AssertionHash(Bytes(i => i == 31 ? 0 : i));

        Assert.That(a, Is.EqualTo(b));
        Assert.That(a == b, Is.True);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a != c, Is.True);
        Assert.That(a.Equals((object)c), Is.False);
        Assert.That(default(AssertionHash), Is.EqualTo(AssertionHash.Zero));
    }

    [Test]
    public void TryCreate_WrongLength_ReturnsFalse()
    {
        Assert.That(AssertionHash.TryCreate(new byte[16], out _), Is.False);
        Assert.That(AssertionHash.TryCreate(new byte[32], out AssertionHash zero), Is.True);
        Assert.That(zero, Is.EqualTo(AssertionHash.Zero));
    }

    [Test]
    public void CopyTo_ShortDestination_Throws()
    {
        Assert.Throws<ArgumentException>(() => AssertionHash.Zero.CopyTo(new byte[31]));
    }

    [Test]
    public void Matches_DetectsDataThatDoesNotHashToIt()
    {
        byte[] data = { 1, 2, 3 };
        AssertionHash hash = AssertionHash.Compute(data);

        Assert.That(hash.Matches(data), Is.True);
        Assert.That(hash.Matches(new byte[] { 1, 2, 4 }), Is.False);
    }
}

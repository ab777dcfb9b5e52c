using System;
using System.Numerics;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class Key256Tests
{
    private static readonly BigInteger Modulus = BigInteger.One << 256;

    private static BigInteger ToBig(Key256 key)
    {
        byte[] bytes = new byte[32];
        key.Write(bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    private static Key256 Random256(Random random, bool extreme)
    {
        byte[] bytes = new byte[32];
        random.NextBytes(bytes);
        if (extreme)
        {
            // Long runs of 0xFF / 0x00 exercise carries and borrows across every word.
            int from = random.Next(32);
            Array.Fill(bytes, random.Next(2) == 0 ? (byte)0xFF : (byte)0x00, from, 32 - from);
        }

        return Key256.Read(bytes);
    }

    [Test]
    public void AddAndSubtract_RandomValues_MatchBigIntegerModulo2To256()
    {
        var random = new Random(51);
        for (int i = 0; i < 5000; i++)
        {
            Key256 a = Random256(random, i % 2 == 0);
            Key256 b = Random256(random, i % 3 == 0);

            Assert.That(ToBig(a + b), Is.EqualTo((ToBig(a) + ToBig(b)) % Modulus));
            Assert.That(ToBig(a - b), Is.EqualTo(((ToBig(a) - ToBig(b)) % Modulus + Modulus) % Modulus));
            Assert.That(a + b - b, Is.EqualTo(a));
        }
    }

    [Test]
    public void Add_AllOnesPlusOne_WrapsToZero()
    {
        Key256 max = Key256.FromHash(AssertionHash.MaxValue);
        var one = new Key256(0, 0, 0, 1);

        Assert.That(max + one, Is.EqualTo(default(Key256)));
        Assert.That(default(Key256) - one, Is.EqualTo(max));
    }

    [Test]
    public void BitAndFirstDifferingBit_RandomPairs_MatchByteArithmetic()
    {
        var random = new Random(52);
        for (int n = 0; n < 2000; n++)
        {
            byte[] a = new byte[32];
            random.NextBytes(a);
            byte[] b = (byte[])a.Clone();
            int flip = random.Next(256);
            b[flip / 8] ^= (byte)(0x80 >> (flip % 8));
            for (int k = flip + 1; k < 256; k++)
            {
                if (random.Next(2) == 0)
                {
                    b[k / 8] ^= (byte)(0x80 >> (k % 8));
                }
            }

            Key256 ka = Key256.Read(a);
            Key256 kb = Key256.Read(b);
            Assert.That(Key256.FirstDifferingBit(ka, kb), Is.EqualTo(flip));
            Assert.That(ka.Bit(flip), Is.EqualTo((a[flip / 8] & (0x80 >> (flip % 8))) != 0));
            Assert.That(kb.Bit(flip), Is.Not.EqualTo(ka.Bit(flip)));
        }

        Assert.That(Key256.FirstDifferingBit(default, default), Is.EqualTo(-1));
    }

    [Test]
    public void FromHashToHash_AnyHash_RoundTrips()
    {
        AssertionHash hash = AssertionHash.Compute(new byte[] { 1, 2, 3 });

        Assert.That(Key256.FromHash(hash).ToHash(), Is.EqualTo(hash));
    }
}

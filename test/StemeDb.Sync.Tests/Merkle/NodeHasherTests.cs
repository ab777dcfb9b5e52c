using System;
using System.Runtime.Intrinsics;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Tests.Merkle;

/// <summary>
/// The inner node hash of root version 2, computed by the library's own BLAKE3 compression across vector lanes, checked
/// bit for bit against the Blake3 package's derive-key hasher on random inputs, for every lane count.
/// </summary>
[TestFixture]
public class NodeHasherTests
{
    [Test]
    public void HashWith_OneLane_MatchesBlake3PackageDeriveKey() => CheckLanes<Lanes1>(seed: 1);

    [Test]
    public void HashWith_FourLanes_MatchesBlake3PackageDeriveKey() => CheckLanes<Lanes4>(seed: 4);

    [Test]
    public void HashWith_EightLanes_MatchesBlake3PackageDeriveKey() => CheckLanes<Lanes8>(seed: 8);

    [Test]
    public void HashWith_SixteenLanes_MatchesBlake3PackageDeriveKey() => CheckLanes<Lanes16>(seed: 16);

    [Test]
    public void HashAll_EveryJobCountUpTo40_MatchesBlake3PackageDeriveKey()
    {
        // Every count mixes full groups of the widest lanes with each possible remainder.
        for (int count = 0; count <= 40; count++)
        {
            // Arrange
            (uint[] values, NodeJob[] jobs) = RandomJobs(count, seed: 100 + count, scattered: true);

            // Act
            NodeHasher.HashAll(values, jobs);

            // Assert
            foreach (NodeJob job in jobs)
            {
                Assert.That(Value(values, job.Output), Is.EqualTo(Expected(Value(values, job.Left), Value(values, job.Right))), $"{count} jobs");
            }
        }
    }

    [TestCase(16, 5)]
    [TestCase(16, 9)]
    [TestCase(8, 3)]
    [TestCase(4, 2)]
    public void HashGroup_FewerJobsThanLanes_WritesTheirOutputsOnly(int lanes, int count)
    {
        // Arrange: the spare lanes repeat the last job; nothing but the jobs' outputs may change.
        (uint[] values, NodeJob[] jobs) = RandomJobs(count, seed: 200 + count, scattered: true);
        uint[] before = (uint[])values.Clone();

        // Act
        switch (lanes)
        {
            case 16: NodeHasher.HashGroup<Lanes16>(values, jobs); break;
            case 8: NodeHasher.HashGroup<Lanes8>(values, jobs); break;
            default: NodeHasher.HashGroup<Lanes4>(values, jobs); break;
        }

        // Assert
        foreach (NodeJob job in jobs)
        {
            Assert.That(Value(values, job.Output), Is.EqualTo(Expected(Value(values, job.Left), Value(values, job.Right))));
        }

        Assert.That(values.AsSpan(0, 2 * count * NodeHasher.ValueWords).SequenceEqual(before.AsSpan(0, 2 * count * NodeHasher.ValueWords)), Is.True, "inputs unchanged");
    }

    [Test]
    public void Inner_EqualAndSwappedHalves_MatchPackageAndDiffer()
    {
        // Arrange: edge values (all zero, all ones) and swapped halves.
        var zero = default(Key256);
        var ones = new Key256(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

        // Act
        Key256 zeroOnes = NodeHasher.Inner(zero, ones);
        Key256 onesZero = NodeHasher.Inner(ones, zero);

        // Assert
        Assert.That(zeroOnes, Is.EqualTo(Expected(zero, ones)));
        Assert.That(onesZero, Is.EqualTo(Expected(ones, zero)));
        Assert.That(NodeHasher.Inner(zero, zero), Is.EqualTo(Expected(zero, zero)));
        Assert.That(zeroOnes, Is.Not.EqualTo(onesZero));
    }

    [Test]
    public void HashWith_FlippedInputBit_ChangesOnlyThatLane()
    {
        // Arrange: 16 jobs hashed, then the same with one bit of lane 5's right half flipped.
        (uint[] values, NodeJob[] jobs) = RandomJobs(16, seed: 7, scattered: false);
        NodeHasher.HashWith<Lanes16>(values, jobs);
        uint[] before = (uint[])values.Clone();
        values[(jobs[5].Right * NodeHasher.ValueWords) + 7] ^= 1;

        // Act
        NodeHasher.HashWith<Lanes16>(values, jobs);

        // Assert
        for (int lane = 0; lane < jobs.Length; lane++)
        {
            Key256 output = Value(values, jobs[lane].Output);
            Assert.That(output == Value(before, jobs[lane].Output), Is.EqualTo(lane != 5), $"lane {lane}");
        }
    }

    [Test]
    public void VectorWidths_ReportedForTheRecord_AreConsistent()
    {
        // The lane counts the structs claim are those of the vector types (whatever the hardware accelerates).
        Assert.That(Lanes4Count(), Is.EqualTo(Vector128<uint>.Count));
        Assert.That(Lanes8Count(), Is.EqualTo(Vector256<uint>.Count));
        Assert.That(Lanes16Count(), Is.EqualTo(Vector512<uint>.Count));
        Assert.That(Lanes16Count(), Is.LessThanOrEqualTo(NodeHasher.MaxLanes));
    }

    private static int Lanes4Count() => Count<Lanes4>();

    private static int Lanes8Count() => Count<Lanes8>();

    private static int Lanes16Count() => Count<Lanes16>();

    private static int Count<T>()
        where T : unmanaged, ILanes<T> => T.Count;

    private static void CheckLanes<T>(int seed)
        where T : unmanaged, ILanes<T>
    {
        // Arrange: 10 groups of T's lanes over random values, inputs and outputs scattered over one array.
        int count = 10 * T.Count;
        (uint[] values, NodeJob[] jobs) = RandomJobs(count, seed, scattered: true);

        // Act
        int done = NodeHasher.HashWith<T>(values, jobs);

        // Assert
        Assert.That(done, Is.EqualTo(count));
        foreach (NodeJob job in jobs)
        {
            Assert.That(Value(values, job.Output), Is.EqualTo(Expected(Value(values, job.Left), Value(values, job.Right))));
        }
    }

    [Test]
    public void ToWordsThenFromWords_RandomValues_RoundTrip()
    {
        var random = new Random(5);
        byte[] bytes = new byte[32];
        uint[] words = new uint[NodeHasher.ValueWords];
        for (int i = 0; i < 100; i++)
        {
            random.NextBytes(bytes);
            var value = Key256.Read(bytes);
            NodeHasher.ToWords(value, words);

            Assert.That(NodeHasher.FromWords(words), Is.EqualTo(value));
            Assert.That(words[0], Is.EqualTo(BitConverter.ToUInt32(bytes, 0)), "BLAKE3 reads little-endian words of the bytes");
        }
    }

    private static Key256 Value(uint[] values, int position) =>
        NodeHasher.FromWords(values.AsSpan(position * NodeHasher.ValueWords, NodeHasher.ValueWords));

    /// <summary>Random values (as words) and jobs reading two of them each and writing a third (distinct from every input).</summary>
    private static (uint[] Values, NodeJob[] Jobs) RandomJobs(int count, int seed, bool scattered)
    {
        var random = new Random(seed);
        uint[] values = new uint[3 * count * NodeHasher.ValueWords];
        byte[] bytes = new byte[32];
        for (int i = 0; i < 2 * count; i++)
        {
            random.NextBytes(bytes);
            NodeHasher.ToWords(Key256.Read(bytes), values.AsSpan(i * NodeHasher.ValueWords, NodeHasher.ValueWords));
        }

        int[] inputs = new int[2 * count];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = i;
        }

        if (scattered)
        {
            random.Shuffle(inputs);
        }

        var jobs = new NodeJob[count];
        for (int j = 0; j < count; j++)
        {
            jobs[j] = new NodeJob(inputs[2 * j], inputs[(2 * j) + 1], (2 * count) + j);
        }

        return (values, jobs);
    }

    private static Key256 Expected(in Key256 left, in Key256 right)
    {
        byte[] material = new byte[64];
        left.Write(material);
        right.Write(material.AsSpan(32));
        return Key256.Read(ReferenceMerkle.DeriveKey(ReferenceMerkle.InnerContext, material));
    }
}

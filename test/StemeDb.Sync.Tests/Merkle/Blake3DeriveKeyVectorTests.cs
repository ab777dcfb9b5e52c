using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Tests.Merkle;

/// <summary>
/// BLAKE3's derive-key mode, which gives the Merkle root's inner nodes and the empty set's root (docs/PROTOCOL.md,
/// "Merkle index and root"), checked against the official BLAKE3 test vectors (TestData/blake3/test_vectors.json, its
/// <c>derive_key</c> and <c>keyed_hash</c> outputs): the Blake3 package the library and <see cref="ReferenceMerkle"/> call,
/// and the library's own one-block compression (<see cref="NodeHasher"/>) in every lane count. With these anchored, the
/// reference recursion checks <see cref="MerkleIndex"/> on random sets of several sizes.
/// </summary>
[TestFixture]
public class Blake3DeriveKeyVectorTests
{
    private static readonly Lazy<VectorFile> Vectors = new(Load);

    private static IEnumerable<int> Lengths() => Vectors.Value.Cases.Keys;

    [Test]
    public void VectorFile_Loaded_HasTheOfficialContextKeyAndEveryCase()
    {
        Assert.That(Vectors.Value.Context, Is.EqualTo("BLAKE3 2019-12-27 16:29:52 test vectors context"));
        Assert.That(Vectors.Value.Key, Is.EqualTo("whats the Elvish word for friend"));
        Assert.That(Vectors.Value.Cases.Keys, Is.SupersetOf(new[] { 0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 3072, 4097, 8193, 31744, 102400 }));
        Assert.That(Vectors.Value.Cases.Values.Select(c => c.DeriveKey.Length), Is.All.EqualTo(262), "131 bytes of extended output, as hex");
    }

    [TestCaseSource(nameof(Lengths))]
    public void PackageDeriveKey_OfficialVector_MatchesExtendedOutput(int length)
    {
        // Arrange
        VectorCase expected = Vectors.Value.Cases[length];
        using var hasher = Blake3.Hasher.NewDeriveKey(Vectors.Value.Context);

        // Act
        hasher.Update(Input(length));
        byte[] output = new byte[expected.DeriveKey.Length / 2];
        hasher.Finalize(output);

        // Assert
        Assert.That(Hex(output), Is.EqualTo(expected.DeriveKey));
    }

    [TestCaseSource(nameof(Lengths))]
    public void PackageKeyedHash_OfficialVector_MatchesExtendedOutput(int length)
    {
        VectorCase expected = Vectors.Value.Cases[length];
        using var hasher = Blake3.Hasher.NewKeyed(Encoding.ASCII.GetBytes(Vectors.Value.Key));

        hasher.Update(Input(length));
        byte[] output = new byte[expected.KeyedHash.Length / 2];
        hasher.Finalize(output);

        Assert.That(Hex(output), Is.EqualTo(expected.KeyedHash));
    }

    [TestCaseSource(nameof(Lengths))]
    public void ReferenceDeriveKey_OfficialVector_MatchesFirst32Bytes(int length)
    {
        byte[] actual = ReferenceMerkle.DeriveKey(Vectors.Value.Context, Input(length));

        Assert.That(Hex(actual), Is.EqualTo(Vectors.Value.Cases[length].DeriveKey[..64]));
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(8)]
    [TestCase(16)]
    public void NodeHasherOneBlock_OfficialVectorOf64Bytes_MatchesInEveryLane(int lanes)
    {
        // Arrange: an inner node's key material is exactly one 64-byte block; the official case of input_len 64 is one.
        byte[] material = Input(64);
        string expected = Vectors.Value.Cases[64].DeriveKey[..64];

        for (int lane = 0; lane < lanes; lane++)
        {
            // Act
            byte[] actual = lanes switch
            {
                1 => NodeHasher.DeriveKeyOneBlock<Lanes1>(Vectors.Value.Context, material, lane),
                4 => NodeHasher.DeriveKeyOneBlock<Lanes4>(Vectors.Value.Context, material, lane),
                8 => NodeHasher.DeriveKeyOneBlock<Lanes8>(Vectors.Value.Context, material, lane),
                _ => NodeHasher.DeriveKeyOneBlock<Lanes16>(Vectors.Value.Context, material, lane),
            };

            // Assert
            Assert.That(Hex(actual), Is.EqualTo(expected), $"lane {lane} of {lanes}");
        }
    }

    [Test]
    public void NodeHasherOneBlock_InnerContext_MatchesInnerNodeHash()
    {
        // The hook above runs the inner node hash's own code: with the inner-node context it gives Inner(left, right).
        byte[] material = Input(64);
        Key256 left = Key256.Read(material.AsSpan(0, 32));
        Key256 right = Key256.Read(material.AsSpan(32, 32));

        byte[] hooked = NodeHasher.DeriveKeyOneBlock<Lanes1>(NodeHasher.InnerContext, material, lane: 0);

        Assert.That(Key256.Read(hooked), Is.EqualTo(NodeHasher.Inner(left, right)));
    }

    [Test]
    public void NodeHasherOneBlock_OneBitFlipped_NoLongerMatchesVector()
    {
        // Guards the vector test against vacuous success.
        byte[] material = Input(64);
        material[63] ^= 0x01;

        byte[] actual = NodeHasher.DeriveKeyOneBlock<Lanes1>(Vectors.Value.Context, material, lane: 0);

        Assert.That(Hex(actual), Is.Not.EqualTo(Vectors.Value.Cases[64].DeriveKey[..64]));
    }

    [Test]
    public void EmptyRoot_IsDeriveKeyOfEmptyInputUnderEmptySetContext()
    {
        // The same call shape as the official derive_key case of input_len 0, under the empty-set context.
        using var hasher = Blake3.Hasher.NewDeriveKey("StemeDb.Sync 2026-12-02 Merkle empty set v2");
        byte[] expected = new byte[32];
        hasher.Finalize(expected);

        Assert.That(MerkleIndex.EmptyRoot, Is.EqualTo(new AssertionHash(expected)));
    }

    [TestCase(0, 1)]
    [TestCase(1, 2)]
    [TestCase(2, 3)]
    [TestCase(2, 4)]
    [TestCase(3, 5)]
    [TestCase(300, 6)]
    [TestCase(777, 7)]
    [TestCase(3000, 8)]
    [TestCase(5000, 9)]
    public void MerkleIndexRoot_RandomSet_MatchesReferenceRecursion(int count, int seed)
    {
        // Arrange
        AssertionHash[] leaves = MerkleIndexTests.RandomLeaves(count, seed);

        // Act
        MerkleIndex index = MerkleIndexTests.Build(leaves);

        // Assert
        Assert.That(index.Root, Is.EqualTo(new AssertionHash(ReferenceMerkle.Root(leaves.Select(l => l.ToArray())))));
    }

    private static byte[] Input(int length)
    {
        byte[] input = new byte[length];
        for (int i = 0; i < length; i++)
        {
            input[i] = (byte)(i % 251);
        }

        return input;
    }

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static VectorFile Load()
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "blake3", "test_vectors.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = document.RootElement;
        return new VectorFile(
            root.GetProperty("key").GetString()!,
            root.GetProperty("context_string").GetString()!,
            root.GetProperty("cases").EnumerateArray().ToDictionary(
                c => c.GetProperty("input_len").GetInt32(),
                c => new VectorCase(c.GetProperty("keyed_hash").GetString()!, c.GetProperty("derive_key").GetString()!)));
    }

    private sealed record VectorFile(string Key, string Context, IReadOnlyDictionary<int, VectorCase> Cases);

    private sealed record VectorCase(string KeyedHash, string DeriveKey);
}

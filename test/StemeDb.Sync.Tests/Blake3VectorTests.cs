using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace StemeDb.Sync.Tests;

/// <summary>
/// Checks <see cref="AssertionHash.Compute"/> against the official BLAKE3 test vectors
/// (TestData/blake3/test_vectors.json, default hash mode, first 32 bytes of the output).
/// </summary>
[TestFixture]
public class Blake3VectorTests
{
    private static readonly Lazy<IReadOnlyDictionary<int, string>> Vectors = new(LoadVectors);

    private static IEnumerable<int> RequiredLengths() => new[] { 0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 3072, 4097, 8193, 31744, 102400 };

    [Test]
    public void VectorFile_Loaded_ContainsEveryRequiredLength()
    {
        Assert.That(Vectors.Value.Keys, Is.SupersetOf(RequiredLengths()));
    }

    [TestCaseSource(nameof(RequiredLengths))]
    public void Compute_OfficialVector_MatchesFirst32BytesOfHash(int length)
    {
        // Arrange
        byte[] input = Input(length);
        string expected = Vectors.Value[length][..(AssertionHash.Length * 2)];

        // Act
        AssertionHash actual = AssertionHash.Compute(input);

        // Assert
        Assert.That(actual.ToString(), Is.EqualTo(expected));
        Assert.That(actual.Matches(input), Is.True);
    }

    [Test]
    public void Compute_EveryVectorInFile_Matches()
    {
        foreach ((int length, string hash) in Vectors.Value)
        {
            Assert.That(AssertionHash.Compute(Input(length)).ToString(), Is.EqualTo(hash[..64]), $"input_len {length}");
        }
    }

    [Test]
    public void Compute_OneBitFlipped_NoLongerMatchesVector()
    {
        // Guards the test above against vacuous success: a changed input must miss the vector.
        byte[] input = Input(1025);
        input[1024] ^= 0x01;

        Assert.That(AssertionHash.Compute(input).ToString(), Is.Not.EqualTo(Vectors.Value[1025][..64]));
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

    private static IReadOnlyDictionary<int, string> LoadVectors()
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "blake3", "test_vectors.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(
            c => c.GetProperty("input_len").GetInt32(),
            c => c.GetProperty("hash").GetString()!);
    }
}

using System;
using System.Buffers;
using System.Text.Json;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Tests.Codec;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>Every case of the corpus produced by the real rkyv 0.8.16 crate, through the schema-driven codec.</summary>
[TestFixture]
public sealed class RkyvConformanceTests
{
    [TestCaseSource(typeof(Corpus), nameof(Corpus.VectorCases))]
    public void Serialize_CorpusValue_ProducesRkyvBytes(CorpusCase c)
    {
        // Arrange
        RkyvType type = CorpusTypes.ByName[c.Type];
        object? value = RkyvJson.ToValue(type, c.Value!.Value);

        // Act
        byte[] bytes = RkyvSerializer.Serialize(type, value);

        // Assert
        Assert.That(Convert.ToHexString(bytes), Is.EqualTo(Convert.ToHexString(c.Bytes)));
    }

    [TestCaseSource(typeof(Corpus), nameof(Corpus.VectorCases))]
    public void Deserialize_CorpusBytes_ProducesCorpusValue(CorpusCase c)
    {
        // Arrange
        RkyvType type = CorpusTypes.ByName[c.Type];
        object? expected = RkyvJson.ToValue(type, c.Value!.Value);

        // Act
        object? actual = RkyvSerializer.Deserialize(type, c.Bytes);

        // Assert
        DynamicValues.AssertEqual(expected, actual);
    }

    [TestCaseSource(typeof(Corpus), nameof(Corpus.VectorCases))]
    public void Json_CorpusBytes_RoundTripsThroughJsonText(CorpusCase c)
    {
        // Arrange
        RkyvType type = CorpusTypes.ByName[c.Type];

        // Act
        string json = RkyvJson.FromArchive(type, c.Bytes);
        byte[] again = RkyvJson.ToArchive(type, json);

        // Assert
        using JsonDocument doc = JsonDocument.Parse(json);
        DynamicValues.AssertEqual(RkyvJson.ToValue(type, c.Value!.Value), RkyvJson.ToValue(type, doc.RootElement));
        Assert.That(again, Is.EqualTo(c.Bytes));
    }

    [TestCaseSource(typeof(Corpus), nameof(Corpus.VectorCases))]
    public void Serialize_IntoBufferWriterAfterExistingBytes_AppendsSameArchive(CorpusCase c)
    {
        // Arrange: an archive is position-independent; it starts wherever the writer is.
        RkyvType type = CorpusTypes.ByName[c.Type];
        object? value = RkyvJson.ToValue(type, c.Value!.Value);
        var output = new ArrayBufferWriter<byte>();
        output.Write(new byte[] { 1, 2, 3 });

        // Act
        int written = RkyvSerializer.Serialize(type, value, output);

        // Assert
        Assert.That(written, Is.EqualTo(c.Bytes.Length));
        Assert.That(output.WrittenSpan[3..].ToArray(), Is.EqualTo(c.Bytes));
    }

    [TestCaseSource(typeof(Corpus), nameof(Corpus.InvalidCases))]
    public void TryValidate_MutatedCorpusBytes_MatchesRkyvDecision(CorpusCase c)
    {
        // Arrange
        RkyvType type = CorpusTypes.ByName[c.Type];

        // Act
        bool ok = RkyvSerializer.TryValidate(type, c.Bytes, out RkyvError error);

        // Assert
        Assert.That(ok, Is.EqualTo(c.Valid), $"mutation: {c.Mutation}; error: {error}");
        if (c.Valid)
        {
            Assert.That(error.Kind, Is.EqualTo(RkyvErrorKind.None));
            DynamicValues.AssertEqual(RkyvJson.ToValue(type, c.Value!.Value), RkyvSerializer.Deserialize(type, c.Bytes));
        }
        else
        {
            Assert.That(error.Kind, Is.EqualTo(ErrorKinds.Parse(c.ErrorKind!)), $"mutation: {c.Mutation}; error: {error}");
            RkyvFormatException ex = Assert.Throws<RkyvFormatException>(() => RkyvSerializer.Deserialize(type, c.Bytes))!;
            Assert.That(ex.Error.Kind, Is.EqualTo(error.Kind));
        }
    }
}

/// <summary>Writers never rely on zeroed memory and respect the <see cref="IBufferWriter{T}"/> contract.</summary>
[TestFixture]
public sealed class BufferWriterContractTests
{
    [TestCaseSource(typeof(Corpus), nameof(Corpus.VectorCases))]
    public void Serialize_IntoDirtyMinimalSpans_ProducesRkyvBytes(CorpusCase c)
    {
        // Arrange
        RkyvType type = CorpusTypes.ByName[c.Type];
        var output = new DirtyBufferWriter();

        // Act
        RkyvSerializer.Serialize(type, RkyvJson.ToValue(type, c.Value!.Value), output);

        // Assert
        Assert.That(output.WrittenBytes, Is.EqualTo(c.Bytes));
    }
}

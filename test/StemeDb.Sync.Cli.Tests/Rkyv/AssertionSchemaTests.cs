using System.Collections.Generic;
using System.Linq;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Tests.Codec;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary><see cref="AssertionSchema"/> against the Rust layout, and the schema validator against the Assertion codec.</summary>
[TestFixture]
public sealed class AssertionSchemaTests
{
    public static IEnumerable<TestCaseData> AssertionMutations() =>
        Corpus.Invalid.Where(c => c.Type == "Assertion").Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    [Test]
    public void AssertionSchema_Layout_MatchesRustLayoutTable()
    {
        // Arrange / Act
        RkyvType a = AssertionSchema.Assertion;

        // Assert: sizes and offsets as measured on the real Rust types.
        Assert.Multiple(() =>
        {
            Assert.That((a.Size, a.Alignment), Is.EqualTo((160, 8)));
            Assert.That(a.Fields.Select(f => f.Offset), Is.EqualTo(new[] { 0, 8, 16, 56, 88, 104, 112, 148 }));
            Assert.That((AssertionSchema.Value.Size, AssertionSchema.Value.Alignment), Is.EqualTo((40, 8)));
            Assert.That((AssertionSchema.HlcTimestamp.Size, AssertionSchema.HlcTimestamp.Alignment), Is.EqualTo((32, 8)));
            Assert.That(AssertionSchema.HlcTimestamp.Fields.Select(f => f.Offset), Is.EqualTo(new[] { 0, 8, 12 }));
            Assert.That(a.FindField("confidence")!.Type.Size, Is.EqualTo(8));
            Assert.That(a.FindField("supersedes")!.Type.Size, Is.EqualTo(33));
            Assert.That(AssertionSchema.Value.FindVariant("Ref")!.Fields[0].Offset, Is.EqualTo(1));
            Assert.That(AssertionSchema.Value.FindVariant("Int")!.Fields[0].Offset, Is.EqualTo(8));
            Assert.That(AssertionSchema.Value.FindVariant("Text")!.Fields[0].Offset, Is.EqualTo(4));
        });
    }

    [TestCaseSource(nameof(AssertionMutations))]
    public void TryValidate_MutatedCorpusAssertion_SchemaValidatorReportsWhatAssertionCodecReports(CorpusCase c)
    {
        // Act
        bool schemaOk = RkyvSerializer.TryValidate(AssertionSchema.Assertion, c.Bytes, out RkyvError schemaError);
        bool codecOk = AssertionCodec.TryValidate(c.Bytes, out RkyvError codecError);

        // Assert
        Assert.That(schemaOk, Is.EqualTo(c.Valid), $"mutation: {c.Mutation}; error: {schemaError}");
        Assert.That(codecOk, Is.EqualTo(schemaOk));
        Assert.That(codecError, Is.EqualTo(schemaError), "the Assertion codec reports exactly what the schema validator reports");
    }
}

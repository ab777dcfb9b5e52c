using System;
using System.Collections.Generic;
using System.Linq;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Tests.Codec;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>Seeded random round trips and random mutations of valid buffers through the schema-driven layer, which the Assertion codec must agree with.</summary>
[TestFixture]
public sealed class RkyvPropertyTests
{
    private const int Seed = 20261127;

    /// <summary>A host schema beyond the corpus: tuple variants with several fields, boxes in vecs, nested options, arrays of structs, chars.</summary>
    private static readonly RkyvType HostRecord = RkyvType.Struct(
        "HostRecord",
        ("key", RkyvType.Tuple(RkyvType.U8, RkyvType.String, RkyvType.I16)),
        ("events", RkyvType.Vec(RkyvType.Enum(
            "Event",
            RkyvVariant.Unit("Tick"),
            RkyvVariant.Tuple("Move", RkyvType.I32, RkyvType.I32, RkyvType.Char),
            RkyvVariant.Struct("Note", ("text", RkyvType.String), ("at", RkyvType.Option(RkyvType.U64))),
            RkyvVariant.Tuple("Boxed", RkyvType.Box(RkyvType.Vec(RkyvType.String)))))),
        ("pairs", RkyvType.Array(RkyvType.Tuple(RkyvType.Bool, RkyvType.F32), 3)),
        ("maybe", RkyvType.Option(RkyvType.Option(RkyvType.Vec(RkyvType.I8)))),
        ("boxes", RkyvType.Vec(RkyvType.Box(CorpusTypes.Inner))));

    public static IEnumerable<TestCaseData> AllTypes() =>
        CorpusTypes.ByName.Keys.Append(HostRecord.Name).Select(name => new TestCaseData(name).SetArgDisplayNames(name));

    [TestCaseSource(nameof(AllTypes))]
    public void Serialize_RandomValues_RoundTripAndValidate(string typeName)
    {
        // Arrange
        RkyvType type = TypeNamed(typeName);
        var rng = new Random(Seed);
        for (int i = 0; i < 200; i++)
        {
            object? value = RandomValues.Next(type, rng);

            // Act
            byte[] bytes = RkyvSerializer.Serialize(type, value);
            bool valid = RkyvSerializer.TryValidate(type, bytes, out RkyvError error);
            object? decoded = RkyvSerializer.Deserialize(type, bytes);
            object? viaJson = RkyvSerializer.Deserialize(type, RkyvJson.ToArchive(type, RkyvJson.FromArchive(type, bytes)));

            // Assert
            Assert.That(valid, Is.True, error.ToString());
            Assert.That(bytes.Length % type.Alignment, Is.Zero, "the root ends the buffer and the buffer length keeps its alignment");
            DynamicValues.AssertEqual(value, decoded);
            DynamicValues.AssertEqual(value, viaJson, anyNaN: true); // JSON keeps every float bit except NaN payloads
        }
    }

    [Test]
    public void AssertionCodec_RandomAssertions_MatchSchemaPathAndRoundTrip()
    {
        // Arrange
        var rng = new Random(Seed);
        for (int i = 0; i < 500; i++)
        {
            Assertion assertion = Samples.Random(rng);

            // Act
            byte[] fast = AssertionCodec.Encode(assertion);
            byte[] generic = RkyvSerializer.Serialize(AssertionSchema.Assertion, AssertionDynamic.ToDynamic(assertion));
            Assertion decoded = AssertionCodec.Decode(fast);

            // Assert
            Assert.That(fast, Is.EqualTo(generic));
            Assert.That(decoded, Is.EqualTo(assertion));
            Assert.That(AssertionDynamic.FromDynamic(RkyvSerializer.Deserialize(AssertionSchema.Assertion, fast)), Is.EqualTo(assertion));
        }
    }

    [TestCaseSource(nameof(AllTypes))]
    public void TryValidate_RandomMutations_CleanAcceptOrDocumentedRejection(string typeName)
    {
        // Arrange
        RkyvType type = TypeNamed(typeName);
        var rng = new Random(Seed);
        int accepted = 0;
        int rejected = 0;
        for (int i = 0; i < 300; i++)
        {
            byte[] original = RkyvSerializer.Serialize(type, RandomValues.Next(type, rng));
            for (int m = 0; m < 10; m++)
            {
                byte[] mutated = Mutations.Mutate(original, rng);

                // Act
                bool ok = RkyvSerializer.TryValidate(type, mutated, out RkyvError error);

                // Assert
                if (ok)
                {
                    accepted++;
                    Assert.That(error.Kind, Is.EqualTo(RkyvErrorKind.None));

                    // Whatever is accepted decodes and re-encodes to something valid.
                    object? value = RkyvSerializer.Deserialize(type, mutated);
                    Assert.That(RkyvSerializer.TryValidate(type, RkyvSerializer.Serialize(type, value), out _), Is.True);
                }
                else
                {
                    rejected++;
                    Assert.That(error.Kind, Is.Not.EqualTo(RkyvErrorKind.None));
                    Assert.That(() => RkyvSerializer.Deserialize(type, mutated), Throws.TypeOf<RkyvFormatException>());
                }
            }
        }

        Assert.That(rejected, Is.GreaterThan(0), "the mutations exercise rejection");
        Assert.That(accepted, Is.GreaterThan(0), "the mutations exercise acceptance (padding, inactive bytes, …)");
    }

    [Test]
    public void AssertionCodec_RandomMutations_AgreesWithSchemaValidatorAndNeverThrows()
    {
        // Arrange
        var rng = new Random(Seed);
        var validator = RkyvAssertionValidator.Instance;
        int rejected = 0;
        for (int i = 0; i < 300; i++)
        {
            byte[] original = AssertionCodec.Encode(Samples.Random(rng));
            for (int m = 0; m < 10; m++)
            {
                byte[] mutated = Mutations.Mutate(original, rng);

                // Act
                bool fast = AssertionCodec.TryValidate(mutated, out RkyvError fastError);
                bool schema = RkyvSerializer.TryValidate(AssertionSchema.Assertion, mutated, out RkyvError schemaError);
                bool adapter = validator.TryValidate(mutated, out string? message);

                // Assert
                Assert.That(fast, Is.EqualTo(schema));
                Assert.That(fastError, Is.EqualTo(schemaError));
                Assert.That(adapter, Is.EqualTo(fast));
                Assert.That(message is null, Is.EqualTo(fast));
                if (fast)
                {
                    Assert.That(AssertionCodec.Decode(mutated), Is.EqualTo(AssertionDynamic.FromDynamic(RkyvSerializer.Deserialize(AssertionSchema.Assertion, mutated))));
                }
                else
                {
                    rejected++;
                }
            }
        }

        Assert.That(rejected, Is.GreaterThan(0), "the mutations exercise rejection");
    }

    [TestCaseSource(nameof(AllTypes))]
    public void TryValidate_RandomBytes_CleanAcceptOrDocumentedRejection(string typeName)
    {
        // Arrange
        RkyvType type = TypeNamed(typeName);
        var rng = new Random(Seed);
        int rejected = 0;
        for (int i = 0; i < 2000; i++)
        {
            byte[] junk = Samples.Bytes(rng, rng.Next(0, 300));

            // Act
            bool ok = RkyvSerializer.TryValidate(type, junk, out RkyvError error);

            // Assert
            Assert.That(ok, Is.EqualTo(error.Kind == RkyvErrorKind.None));
            if (ok)
            {
                Assert.That(() => RkyvSerializer.Deserialize(type, junk), Throws.Nothing);
            }
            else
            {
                rejected++;
            }
        }

        Assert.That(rejected, Is.GreaterThan(0));
    }

    [Test]
    public void TryValidate_HostileLengths_AllocatesNothing()
    {
        // Arrange: a Vec<String> claiming u32::MAX elements and a string claiming 2^30 - 1 bytes.
        byte[] huge = [0, 0, 0, 0, 0xF8, 0xFF, 0xFF, 0xFF, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        RkyvSerializer.TryValidate(CorpusTypes.Strings, huge, out _);

        // Act
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool ok = RkyvSerializer.TryValidate(CorpusTypes.Strings, huge, out RkyvError error);
        bool fast = AssertionCodec.TryValidate(huge, out RkyvError fastError);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert
        Assert.That(ok, Is.False);
        Assert.That(error.Kind, Is.EqualTo(RkyvErrorKind.SubtreeRange));
        Assert.That(fast, Is.False);
        Assert.That(fastError.Kind, Is.EqualTo(RkyvErrorKind.SubtreeRange));
        Assert.That(allocated, Is.Zero);
    }

    [TestCaseSource(typeof(Corpus), nameof(Corpus.VectorCases))]
    public void TryValidate_CorpusBytesWithPrefix_AlignmentDecides(CorpusCase c)
    {
        // Arrange
        RkyvType type = CorpusTypes.ByName[c.Type];
        foreach (int prefix in new[] { 1, 2, 3, 4, 8, 16 })
        {
            byte[] prefixed = new byte[prefix + c.Bytes.Length];
            c.Bytes.CopyTo(prefixed, prefix);

            // Act
            bool ok = RkyvSerializer.TryValidate(type, prefixed, out RkyvError error);

            // Assert: every object moves by the prefix; offsets that stay aligned keep the archive valid.
            if (prefix % 8 == 0)
            {
                Assert.That(ok, Is.True, $"prefix {prefix}: {error}");
                DynamicValues.AssertEqual(RkyvSerializer.Deserialize(type, c.Bytes), RkyvSerializer.Deserialize(type, prefixed));
            }
            else if (prefix % type.Alignment != 0)
            {
                Assert.That(error.Kind, Is.EqualTo(RkyvErrorKind.Unaligned), $"prefix {prefix}");
            }
        }
    }

    private static RkyvType TypeNamed(string name) => name == HostRecord.Name ? HostRecord : CorpusTypes.ByName[name];
}

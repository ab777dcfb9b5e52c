using System;

namespace StemeDb.Sync.Tests.Codec;

/// <summary>Seeded random assertions round-tripped through the codec, and random mutations of their archives.</summary>
[TestFixture]
public sealed class AssertionCodecPropertyTests
{
    private const int Seed = 20261127;

    [Test]
    public void AssertionCodec_RandomAssertions_RoundTrip()
    {
        // Arrange
        var rng = new Random(Seed);
        for (int i = 0; i < 500; i++)
        {
            Assertion assertion = Samples.Random(rng);

            // Act
            byte[] bytes = AssertionCodec.Encode(assertion);
            bool valid = AssertionCodec.TryValidate(bytes, out RkyvError error);
            Assertion decoded = AssertionCodec.Decode(bytes);

            // Assert
            Assert.That(valid, Is.True, error.ToString());
            Assert.That(bytes, Has.Length.EqualTo(AssertionCodec.GetEncodedLength(assertion)));
            Assert.That(bytes.Length % 8, Is.Zero, "the root ends the buffer and the buffer length keeps its alignment");
            Assert.That(decoded, Is.EqualTo(assertion));
            Assert.That(AssertionCodec.Encode(decoded), Is.EqualTo(bytes));
        }
    }

    [Test]
    public void AssertionCodec_RandomMutations_AgreesWithContentValidatorAndNeverThrows()
    {
        // Arrange
        var rng = new Random(Seed);
        var validator = RkyvAssertionValidator.Instance;
        int accepted = 0;
        int rejected = 0;
        for (int i = 0; i < 300; i++)
        {
            byte[] original = AssertionCodec.Encode(Samples.Random(rng));
            for (int m = 0; m < 10; m++)
            {
                byte[] mutated = Mutations.Mutate(original, rng);

                // Act
                bool valid = AssertionCodec.TryValidate(mutated, out RkyvError error);
                bool decoded = AssertionCodec.TryDecode(mutated, out Assertion? assertion, out RkyvError decodeError);
                bool adapter = validator.TryValidate(mutated, out string? message);

                // Assert
                Assert.That(error.Kind == RkyvErrorKind.None, Is.EqualTo(valid));
                Assert.That(decoded, Is.EqualTo(valid));
                Assert.That(decodeError, Is.EqualTo(error));
                Assert.That(adapter, Is.EqualTo(valid));
                Assert.That(message is null, Is.EqualTo(valid));
                if (valid)
                {
                    // Whatever is accepted decodes and re-encodes to an archive of the same assertion.
                    accepted++;
                    Assert.That(AssertionCodec.Decode(AssertionCodec.Encode(assertion!)), Is.EqualTo(assertion));
                }
                else
                {
                    rejected++;
                    Assert.That(() => AssertionCodec.Decode(mutated), Throws.TypeOf<RkyvFormatException>().With.Property(nameof(RkyvFormatException.Error)).EqualTo(error));
                }
            }
        }

        Assert.That(rejected, Is.GreaterThan(0), "the mutations exercise rejection");
        Assert.That(accepted, Is.GreaterThan(0), "the mutations exercise acceptance (padding, integers, inactive bytes, …)");
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Fuzzing;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>
/// The schema-driven validator over hostile bytes: the committed <c>schema</c> corpus (seeds from the conformance
/// vectors and the inputs AFL++ kept when this layer was a fuzz target of the library) and seeded mutations of it.
/// The first byte of an input picks one of four schemas. Whatever the validator accepts must be fully readable; for
/// the Assertion schema it must agree with the Assertion codec.
/// </summary>
[TestFixture]
public sealed class SchemaFuzzCorpusTests
{
    private const string Target = "schema";

    private static readonly RkyvType[] Schemas =
    [
        AssertionSchema.Assertion,
        AssertionSchema.Value,
        AssertionSchema.HlcTimestamp,
        RkyvType.Struct(
            "Mix",
            ("names", RkyvType.Vec(RkyvType.Option(RkyvType.String))),
            ("boxed", RkyvType.Box(RkyvType.Tuple(RkyvType.U16, RkyvType.Char, RkyvType.Bool))),
            ("floats", RkyvType.Array(RkyvType.F32, 3)),
            ("value", AssertionSchema.Value)),
    ];

    [Test]
    public void Corpus_EveryCommittedInput_NoFinding()
    {
        string[] files = FuzzCorpus.Files(Target);

        List<string> findings = FuzzCorpus.Replay(files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))), Run);

        Assert.Multiple(() =>
        {
            Assert.That(files, Is.Not.Empty, "the corpus has seeds");
            Assert.That(findings, Is.Empty);
        });
        TestContext.Out.WriteLine($"{Target}: {files.Length} corpus inputs, {findings.Count} findings");
    }

    [Test]
    public void Mutations_SeededRandomFromCorpus_NoFinding()
    {
        byte[][] seeds = FuzzCorpus.Files(Target).Select(File.ReadAllBytes).ToArray();

        List<string> findings = FuzzCorpus.Replay(FuzzCorpus.Mutations(Target, seeds), Run);

        Assert.That(findings, Is.Empty);
        TestContext.Out.WriteLine($"{Target}: {FuzzCorpus.MutationsPerTarget} mutated inputs, {findings.Count} findings");
    }

    private static void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        RkyvType type = Schemas[input[0] % Schemas.Length];
        ReadOnlySpan<byte> archive = input.AsSpan(1);
        bool valid = RkyvView.TryAccess(type, archive, out RkyvView view, out RkyvError error);
        if (ReferenceEquals(type, AssertionSchema.Assertion))
        {
            bool dedicated = AssertionCodec.TryValidate(archive, out RkyvError dedicatedError);
            if (valid != dedicated)
            {
                throw new InvalidOperationException($"schema validator says {valid} ({error}), Assertion validator says {dedicated} ({dedicatedError})");
            }
        }

        if (valid)
        {
            _ = view.ToValue(); // must read every accepted archive without an exception
        }
    }
}

using System.Collections.Generic;
using System.IO;
using System.Linq;
using StemeDb.Sync.Fuzzing;

namespace StemeDb.Sync.Grpc.Tests.Reliability;

/// <summary>
/// The short fuzz run of every test run: the committed corpus (seeds, and every input a fuzzer found to crash,
/// kept as a regression) plus a fixed number of seeded random mutations, through the same entry points the
/// coverage-guided fuzzer drives (<c>.ci/fuzz</c>).
/// </summary>
[TestFixture]
public sealed class FuzzCorpusReplayTests
{
    private static IEnumerable<string> Targets => FuzzTargets.Names;

    [TestCaseSource(nameof(Targets))]
    public void Corpus_EveryCommittedInput_NoFinding(string target)
    {
        string[] files = FuzzCorpus.Files(target);

        List<string> findings = FuzzCorpus.Replay(files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))), bytes => FuzzTargets.Run(target, bytes));

        Assert.Multiple(() =>
        {
            Assert.That(files, Is.Not.Empty, "the corpus has seeds for every target");
            Assert.That(findings, Is.Empty);
        });
        TestContext.Out.WriteLine($"{target}: {files.Length} corpus inputs, {findings.Count} findings");
    }

    [TestCaseSource(nameof(Targets))]
    public void Mutations_SeededRandomFromCorpus_NoFinding(string target)
    {
        byte[][] seeds = FuzzCorpus.Files(target).Select(File.ReadAllBytes).ToArray();

        List<string> findings = FuzzCorpus.Replay(FuzzCorpus.Mutations(target, seeds), bytes => FuzzTargets.Run(target, bytes));

        Assert.That(findings, Is.Empty);
        TestContext.Out.WriteLine($"{target}: {FuzzCorpus.MutationsPerTarget} mutated inputs, {findings.Count} findings");
    }
}

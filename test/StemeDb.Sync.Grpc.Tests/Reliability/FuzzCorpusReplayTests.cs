using System;
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
    private const int MutationsPerTarget = 4000;

    private static IEnumerable<string> Targets => FuzzTargets.Names;

    [TestCaseSource(nameof(Targets))]
    public void Corpus_EveryCommittedInput_NoFinding(string target)
    {
        string[] files = CorpusFiles(target);

        List<string> findings = Replay(target, files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))));

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
        byte[][] seeds = CorpusFiles(target).Select(File.ReadAllBytes).ToArray();
        var random = new Random(20261127 + target.Length);

        IEnumerable<(string, byte[])> Inputs()
        {
            for (int i = 0; i < MutationsPerTarget; i++)
            {
                byte[] input = Mutate(seeds[random.Next(seeds.Length)], seeds[random.Next(seeds.Length)], random);
                yield return ($"mutation #{i}", input);
            }
        }

        List<string> findings = Replay(target, Inputs());

        Assert.That(findings, Is.Empty);
        TestContext.Out.WriteLine($"{target}: {MutationsPerTarget} mutated inputs, {findings.Count} findings");
    }

    private static List<string> Replay(string target, IEnumerable<(string Name, byte[] Bytes)> inputs)
    {
        var findings = new List<string>();
        foreach ((string name, byte[] bytes) in inputs)
        {
            try
            {
                FuzzTargets.Run(target, bytes);
            }
#pragma warning disable CA1031 // every exception is a finding, reported with its input
            catch (Exception ex)
#pragma warning restore CA1031
            {
                findings.Add($"{name} ({Convert.ToHexString(bytes)}): {ex.GetType().Name}: {ex.Message}");
            }
        }

        return findings;
    }

    /// <summary>One to four of: bit flip, interesting byte, byte insert/delete, truncation, splice with another seed.</summary>
    private static byte[] Mutate(byte[] seed, byte[] other, Random random)
    {
        var bytes = new List<byte>(seed);
        int steps = random.Next(1, 5);
        for (int s = 0; s < steps; s++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)(random.Next(4) switch { 0 => 0x00, 1 => 0xFF, 2 => 0x7F, _ => 0x80 });
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    int from = other.Length == 0 ? 0 : random.Next(other.Length);
                    bytes.InsertRange(at, other.AsSpan(from, Math.Min(other.Length - from, 16)).ToArray());
                    break;
            }
        }

        return [.. bytes];
    }

    private static string[] CorpusFiles(string target)
    {
        string? directory = TestContext.CurrentContext.TestDirectory;
        while (directory is not null && !Directory.Exists(Path.Combine(directory, "fuzz", "corpus")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        Assert.That(directory, Is.Not.Null, "fuzz/corpus is found above the test directory");
        return Directory.GetFiles(Path.Combine(directory!, "fuzz", "corpus", target)).Order(StringComparer.Ordinal).ToArray();
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace StemeDb.Sync.Fuzzing;

/// <summary>
/// The committed fuzz corpus (<c>fuzz/corpus/TARGET</c>: seeds, and every input a fuzzer found to crash, kept as a
/// regression) and the seeded random mutations of it that the corpus replay tests run through a target.
/// </summary>
internal static class FuzzCorpus
{
    public const int MutationsPerTarget = 4000;

    /// <summary>The corpus files of <paramref name="target"/>, in ordinal order.</summary>
    public static string[] Files(string target)
    {
        string? directory = TestContext.CurrentContext.TestDirectory;
        while (directory is not null && !Directory.Exists(Path.Combine(directory, "fuzz", "corpus")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        Assert.That(directory, Is.Not.Null, "fuzz/corpus is found above the test directory");
        return Directory.GetFiles(Path.Combine(directory!, "fuzz", "corpus", target)).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary><see cref="MutationsPerTarget"/> mutations of the seeds, the same ones on every run for a target name.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> Mutations(string target, byte[][] seeds)
    {
        var random = new Random(20261127 + target.Length);
        for (int i = 0; i < MutationsPerTarget; i++)
        {
            byte[] input = Mutate(seeds[random.Next(seeds.Length)], seeds[random.Next(seeds.Length)], random);
            yield return ($"mutation #{i}", input);
        }
    }

    /// <summary>Runs every input through <paramref name="target"/>; each exception it throws is a finding, reported with its input.</summary>
    public static List<string> Replay(IEnumerable<(string Name, byte[] Bytes)> inputs, Action<byte[]> target)
    {
        var findings = new List<string>();
        foreach ((string name, byte[] bytes) in inputs)
        {
            try
            {
                target(bytes);
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
}

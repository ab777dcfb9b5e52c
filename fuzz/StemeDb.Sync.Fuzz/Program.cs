using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Google.Protobuf;
using SharpFuzz;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Fuzzing;

/// <summary>
/// The fuzz harness.
/// <list type="bullet">
/// <item><c>StemeDb.Sync.Fuzz TARGET</c>: run TARGET under AFL++ (persistent mode; the library must be instrumented
/// with <c>sharpfuzz</c> first; see <c>.ci/fuzz</c>).</item>
/// <item><c>StemeDb.Sync.Fuzz TARGET --replay FILE|DIR...</c>: run inputs once each, without AFL++ (reproduce a crash).</item>
/// <item><c>StemeDb.Sync.Fuzz seed RKYV_TEST_DATA_DIR CORPUS_DIR</c>: write the seed corpus from the rkyv test vectors.</item>
/// </list>
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 3 && args[0] == "seed")
        {
            Seed(args[1], args[2]);
            return 0;
        }

        if (args.Length >= 1 && FuzzTargets.Names.Contains(args[0]))
        {
            string target = args[0];
            if (args.Length >= 3 && args[1] == "--replay")
            {
                return Replay(target, args[2..]);
            }

            if (args.Length == 1)
            {
                Fuzzer.Run(stream =>
                {
                    using var buffer = new MemoryStream();
                    stream.CopyTo(buffer);
                    FuzzTargets.Run(target, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
                });
                return 0;
            }
        }

        Console.Error.WriteLine($"usage: StemeDb.Sync.Fuzz ({string.Join("|", FuzzTargets.Names)}) [--replay FILE|DIR...]");
        Console.Error.WriteLine("       StemeDb.Sync.Fuzz seed RKYV_TEST_DATA_DIR CORPUS_DIR");
        return 2;
    }

    private static int Replay(string target, string[] paths)
    {
        int failures = 0;
        int runs = 0;
        foreach (string file in paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal))
        {
            runs++;
            try
            {
                FuzzTargets.Run(target, File.ReadAllBytes(file));
            }
#pragma warning disable CA1031 // report every failing input, then fail
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures++;
                Console.Error.WriteLine($"{file}: {ex}");
            }
        }

        Console.WriteLine($"{target}: {runs} inputs, {failures} failures");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Seeds: every Assertion/Value/HlcTimestamp vector, a few invalid archives, and one request per RPC.</summary>
    private static void Seed(string testData, string corpus)
    {
        var valid = ReadCases(Path.Combine(testData, "vectors.json"));
        var invalid = ReadCases(Path.Combine(testData, "invalid.json"));
        string[] schemaTypes = ["Assertion", "Value", "HlcTimestamp"];

        var assertions = valid.Where(c => c.Type == "Assertion").ToList();
        foreach ((string name, _, byte[] bytes) in assertions)
        {
            Write(corpus, "assertion", name, bytes);
        }

        foreach ((string name, _, byte[] bytes) in invalid.Where(c => c.Type == "Assertion").Take(16))
        {
            Write(corpus, "assertion", name, bytes);
        }

        // Not a target of this harness: the schema-driven layer is part of the stemedb-sync CLI, whose tests replay
        // this corpus (SchemaFuzzCorpusTests).
        foreach ((string name, string type, byte[] bytes) in valid.Where(c => schemaTypes.Contains(c.Type)))
        {
            Write(corpus, "schema", name, [(byte)Array.IndexOf(schemaTypes, type), .. bytes]);
        }

        ulong time = 1_700_000_000_000;
        byte[] nodeId = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var hashes = new List<ByteString>();
        foreach ((string name, _, byte[] bytes) in assertions.Take(6))
        {
            ByteString hash = ByteString.CopyFrom(AssertionHash.Compute(bytes).ToArray());
            hashes.Add(hash);
            var push = new GossipRequest
            {
                AssertionHash = hash,
                AssertionData = ByteString.CopyFrom(bytes),
                HlcTime = time,
                HlcCounter = 1,
                HlcNodeId = ByteString.CopyFrom(nodeId),
            };
            Write(corpus, "handler", "gossip_" + name, [0, .. push.ToByteArray()]);
        }

        var wrongHash = new GossipRequest { AssertionHash = ByteString.CopyFrom(new byte[32]), AssertionData = ByteString.CopyFrom(assertions[0].Bytes), HlcTime = time, HlcNodeId = ByteString.CopyFrom(nodeId) };
        Write(corpus, "handler", "gossip_hash_mismatch", [0, .. wrongHash.ToByteArray()]);
        Write(corpus, "handler", "roots", [1, .. new RootExchangeRequest { MerkleRoot = hashes[0], AssertionCount = 3 }.ToByteArray()]);
        var fetch = new FetchRequest();
        fetch.Hashes.AddRange(hashes);
        Write(corpus, "handler", "fetch", [2, .. fetch.ToByteArray()]);
        Write(corpus, "handler", "ping", [3, .. new PingRequest { NodeId = ByteString.CopyFrom(nodeId) }.ToByteArray()]);
        Write(corpus, "handler", "leaves", [4, .. new GetLeavesRequest { MaxLeaves = 10 }.ToByteArray()]);

        // The extensions: a first Reconcile round (slice fingerprints), a retry round (slices and cells), and a batch.
        var firstRound = new ReconcileRequest { Version = 1, AssertionCount = 3, SliceFingerprints = ByteString.CopyFrom(new byte[3072]), Salt = 7 };
        Write(corpus, "handler", "reconcile_round1", [5, .. firstRound.ToByteArray()]);
        var retry = new ReconcileRequest { Version = 1, AssertionCount = 3, Slices = ByteString.CopyFrom(Enumerable.Repeat((byte)0xFF, 16).ToArray()), Cells = 30, Salt = 8 };
        Write(corpus, "handler", "reconcile_retry", [5, .. retry.ToByteArray()]);
        var batch = new GossipBatchRequest();
        foreach ((string name, _, byte[] bytes) in assertions.Take(4))
        {
            batch.Assertions.Add(new AssertionData
            {
                Hash = ByteString.CopyFrom(AssertionHash.Compute(bytes).ToArray()),
                Data = ByteString.CopyFrom(bytes),
                HlcTime = time,
                HlcCounter = 2,
                HlcNodeId = ByteString.CopyFrom(nodeId),
            });
        }

        batch.Assertions.Add(new AssertionData { Hash = ByteString.CopyFrom(new byte[32]), Data = ByteString.CopyFrom(assertions[0].Bytes), HlcTime = time, HlcNodeId = ByteString.CopyFrom(nodeId) });
        Write(corpus, "handler", "gossip_batch", [6, .. batch.ToByteArray()]);
        Write(corpus, "handler", "symbols_first", [7, .. new StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest { Version = 1, Count = 6 }.ToByteArray()]);
        Write(corpus, "handler", "symbols_later", [7, .. new StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest { Version = 1, Start = 6, Count = 8, Snapshot = 1 }.ToByteArray()]);
    }

    private static List<(string Name, string Type, byte[] Bytes)> ReadCases(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("type").GetString()!, Convert.FromHexString(c.GetProperty("bytes").GetString()!)))
            .ToList();
    }

    private static void Write(string corpus, string target, string name, byte[] bytes)
    {
        string directory = Path.Combine(corpus, target);
        Directory.CreateDirectory(directory);
        string safe = string.Concat(name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' ? ch : '_'));
        File.WriteAllBytes(Path.Combine(directory, safe), bytes);
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>
/// Interop with @grpc/grpc-js built from the original v1 contract (<c>test/reference</c>): a v1 node.js client drives
/// the .NET server through every RPC, and a .NET node with default settings syncs with a v1-only node.js server (hash
/// and data only, a root scheme of its own, UNIMPLEMENTED extensions). Needs node.js and npm (runs <c>npm ci</c> once).
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public class InteropTests
{
    private const int ServerMaxReceive = 256 * 1024;

    [OneTimeSetUp]
    public async Task EnsureNode()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await NodeJs.EnsureReadyAsync(cts.Token);
    }

    [Test]
    public async Task V1Client_EveryRpcValidAndInvalid_AnsweredPerProtocol(CancellationToken cancellationToken)
    {
        await using SyncNode node = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(node.Handler, new KestrelHostOptions { MaxReceiveMessageSize = ServerMaxReceive });
        AssertionRecord[] records = Enumerable.Range(0, 4).Select(i => Records.Create($"interop-{i}")).ToArray();
        AssertionRecord invalidContent = Records.WithData("not an rkyv archive"u8.ToArray());
        string input = NodeJs.WriteTempJson(new Dictionary<string, object>
        {
            ["records"] = records.Select(NodeJs.ToJson).ToArray(),
            ["invalid_content_record"] = NodeJs.ToJson(invalidContent),
            ["server_max_receive"] = ServerMaxReceive,
        });

        (int exit, string stdout, string stderr) result;
        try
        {
            result = await NodeJs.RunScriptAsync("client.js", [$"127.0.0.1:{host.Address.Port}", input], cancellationToken);
        }
        finally
        {
            File.Delete(input);
        }

        Assert.That(result.exit, Is.Zero, result.stderr);
        using JsonDocument doc = JsonDocument.Parse(result.stdout);
        JsonElement cases = doc.RootElement;
        const int ok = 0, invalidArgument = 3, resourceExhausted = 8;
        string Hex(AssertionRecord r) => Convert.ToHexStringLower(r.Hash.ToArray());

        Assert.Multiple(() =>
        {
            AssertCode(cases, "ping_valid", ok);
            Assert.That(Response(cases, "ping_valid").GetProperty("node_id").GetString(), Is.EqualTo(node.NodeId.ToString()));
            AssertCode(cases, "ping_empty", ok);
            AssertCode(cases, "ping_bad_node_id", invalidArgument);

            AssertGossip(cases, "gossip_valid", accepted: true);
            AssertGossip(cases, "gossip_repeat", accepted: true);
            AssertGossip(cases, "gossip_valid_second", accepted: true);
            AssertGossip(cases, "gossip_empty", accepted: false, "assertion_hash");
            AssertGossip(cases, "gossip_short_hash", accepted: false, "assertion_hash");
            AssertGossip(cases, "gossip_bad_node_id", accepted: false, "hlc_node_id");
            AssertGossip(cases, "gossip_hash_mismatch", accepted: false, "does not match");
            AssertGossip(cases, "gossip_hlc_ahead", accepted: false, "ahead");
            AssertGossip(cases, "gossip_invalid_content", accepted: false, "content");
            AssertCode(cases, "gossip_oversize", resourceExhausted);
            AssertGossip(cases, "gossip_no_hlc", accepted: true);

            AssertCode(cases, "roots_empty", ok);
            Assert.That(Response(cases, "roots_empty").GetProperty("merkle_root").GetString(), Has.Length.EqualTo(64));
            Assert.That(Response(cases, "roots_empty").GetProperty("roots_match").GetBoolean(), Is.False);
            AssertCode(cases, "roots_bad_length", invalidArgument);
            Assert.That(Response(cases, "roots_matching").GetProperty("roots_match").GetBoolean(), Is.True);

            AssertCode(cases, "fetch_known_and_unknown", ok);
            JsonElement[] fetched = Response(cases, "fetch_known_and_unknown").GetProperty("assertions").EnumerateArray().ToArray();
            Assert.That(fetched.Select(a => a.GetProperty("hash").GetString()), Is.EqualTo(new[] { Hex(records[0]), Hex(records[1]) }));
            Assert.That(fetched.Select(a => a.GetProperty("data").GetString()), Is.EqualTo(new[] { records[0], records[1] }.Select(r => Convert.ToHexStringLower(r.Data.Span))));
            AssertCode(cases, "fetch_empty", ok);
            AssertCode(cases, "fetch_bad_length", invalidArgument);
            AssertCode(cases, "fetch_too_many", invalidArgument);

            string[] sorted = records.Take(3).Select(r => r.Hash).Order().Select(h => h.ToString()).ToArray();
            AssertLeaves(cases, "leaves_all", sorted, truncated: false);
            AssertLeaves(cases, "leaves_one", sorted.Take(1).ToArray(), truncated: true);
            AssertLeaves(cases, "leaves_huge", sorted, truncated: false);
            AssertLeaves(cases, "leaves_above_32_bits", sorted, truncated: false);

            AssertCode(cases, "ping_after", ok);
        });
        Assert.That(node.Count, Is.EqualTo(3), "only the three valid gossip pushes were stored");

        // The push without an HLC was stamped with the HLC inside its content (a StemeDB Assertion).
        IReadOnlyList<AssertionRecord> stored = await node.Handler.FetchAsync([records[2].Hash.ToArray()], cancellationToken);
        Assert.That(stored.Single().Timestamp, Is.EqualTo(records[2].Timestamp));
    }

    [Test]
    public async Task DefaultNode_V1NodeJsServer_PullsItsAssertionsAndPushesOwn(CancellationToken cancellationToken)
    {
        // 9,000 leaves: below the 10,000 that one v1 GetLeaves answer carries, so both whole leaf sets can be compared.
        AssertionRecord[] seed = Enumerable.Range(0, 9_000).Select(i => Records.Create($"js-seed-{i}")).ToArray();
        string seedPath = NodeJs.WriteTempJson(new Dictionary<string, object> { ["records"] = seed.Select(NodeJs.ToJson).ToArray() });
        using Process server = NodeJs.Start("server.js", seedPath, "--arrival-order");
        try
        {
            string? line = await server.StandardOutput.ReadLineAsync(cancellationToken);
            Assert.That(line, Does.StartWith("LISTENING "), await ReadErrorsAsync(server));
            int port = int.Parse(line!["LISTENING ".Length..], System.Globalization.CultureInfo.InvariantCulture);

            // Default settings: the node catches up by its own first background pass, within seconds of AddPeer.
            await using var node = new SyncNode(new SyncNodeOptions(), new InMemoryAssertionStore());
            await node.StartAsync(cancellationToken);
            for (int i = 0; i < 20; i++)
            {
                await node.IngestAsync(Records.Create($"dotnet-{i}").Data, cancellationToken);
            }

            using GrpcSyncPeer peer = GrpcSyncPeer.Create(new Uri($"http://127.0.0.1:{port}"));
            node.AddPeer(peer);
            await Poll.UntilAsync(() => node.Count == 9_020, cancellationToken);

            // The fetched records carry no HLC on the v1 wire: each was stamped with the HLC inside its content.
            IReadOnlyList<AssertionRecord> stored = await node.Handler.FetchAsync(seed.Take(100).Select(r => (ReadOnlyMemory<byte>)r.Hash.ToArray()).ToArray(), cancellationToken);
            Assert.That(stored.Select(r => r.Timestamp), Is.EqualTo(seed.Take(100).Select(r => r.Timestamp)));

            // Gossip: new local assertions are pushed to the v1 peer with plain Gossip calls.
            for (int i = 0; i < 5; i++)
            {
                await node.IngestAsync(Records.Create($"dotnet-gossip-{i}").Data, cancellationToken);
            }

            await Poll.UntilAsync(async () => (await peer.PingAsync(node.NodeId, cancellationToken)).AssertionCount == 9_025 && node.Count == 9_025, cancellationToken);

            LeavesPage remote = await peer.GetLeavesAsync(0, cancellationToken);
            LeavesPage local = await node.Handler.GetLeavesAsync(0, cancellationToken);
            Assert.That(remote.Truncated, Is.False);
            Assert.That(remote.Leaves, Is.EquivalentTo(local.Leaves), "both sides hold the same leaf set (the peer lists them in its own order)");
            Assert.That(remote.Leaves, Is.Not.EqualTo(local.Leaves), "the peer's order is not ours, so the engine sorted its pages");

            // The peer's root scheme is its own, so roots never match; once a pass has found the sets equal, the next
            // pass with nothing changed is one ExchangeRoots call and no leaf listing. (The background loop is stopped
            // first, so that only these passes call the peer.)
            node.RemovePeer(peer);
            await node.SyncWithPeerAsync(peer, cancellationToken);
            JsonElement before = await ServerStatsAsync(server, cancellationToken);
            SyncPassResult pass = await node.SyncWithPeerAsync(peer, cancellationToken);
            JsonElement after = await ServerStatsAsync(server, cancellationToken);
            Assert.That(pass.RootsMatched, Is.False);
            Assert.That(pass.Unchanged, Is.True);
            Assert.That(Calls(after, "GetLeaves"), Is.EqualTo(Calls(before, "GetLeaves")), "no leaf listing");
            Assert.That(Calls(after, "ExchangeRoots"), Is.EqualTo(Calls(before, "ExchangeRoots") + 1));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            File.Delete(seedPath);
        }
    }

    private static async Task<JsonElement> ServerStatsAsync(Process server, CancellationToken cancellationToken)
    {
        await server.StandardInput.WriteLineAsync("stats");
        await server.StandardInput.FlushAsync(cancellationToken);
        string? line = await server.StandardOutput.ReadLineAsync(cancellationToken);
        Assert.That(line, Is.Not.Null, "the node.js server answered no stats");
        using JsonDocument doc = JsonDocument.Parse(line!);
        return doc.RootElement.Clone();
    }

    private static int Calls(JsonElement stats, string rpc) =>
        stats.GetProperty("calls").TryGetProperty(rpc, out JsonElement n) ? n.GetInt32() : 0;

    private static async Task<string> ReadErrorsAsync(Process process)
    {
        if (!process.HasExited)
        {
            return "the node.js server did not report its port";
        }

        return await process.StandardError.ReadToEndAsync();
    }

    private static JsonElement Case(JsonElement cases, string name) =>
        cases.TryGetProperty(name, out JsonElement value) ? value : throw new AssertionException($"The node.js client reported no case '{name}'.");

    private static JsonElement Response(JsonElement cases, string name) => Case(cases, name).GetProperty("response");

    private static void AssertCode(JsonElement cases, string name, int expected)
    {
        JsonElement result = Case(cases, name);
        Assert.That(result.GetProperty("code").GetInt32(), Is.EqualTo(expected), $"{name}: {result.GetProperty("details").GetString()}");
    }

    private static void AssertGossip(JsonElement cases, string name, bool accepted, string? reason = null)
    {
        AssertCode(cases, name, 0);
        JsonElement response = Response(cases, name);
        Assert.That(response.GetProperty("accepted").GetBoolean(), Is.EqualTo(accepted), $"{name}: {response.GetProperty("error").GetString()}");
        if (reason is not null)
        {
            Assert.That(response.GetProperty("error").GetString(), Does.Contain(reason).IgnoreCase, name);
        }
    }

    private static void AssertLeaves(JsonElement cases, string name, string[] expected, bool truncated)
    {
        AssertCode(cases, name, 0);
        JsonElement response = Response(cases, name);
        Assert.That(response.GetProperty("leaves").EnumerateArray().Select(l => l.GetString()), Is.EqualTo(expected), name);
        Assert.That(response.GetProperty("truncated").GetBoolean(), Is.EqualTo(truncated), name);
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync;
using StemeDb.Sync.Engine;
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Grpc.V1;
using StemeDb.Sync.Merkle;
using StemeDb.Sync.Reconciliation;
using StemeDb.Sync.Storage;
using StemeDb.Sync.Transport;

// Reconciliation and batched gossip over loopback gRPC (Kestrel, HTTP/2 cleartext), printed as tables.
// Usage: dotnet run -c Release --project bench/StemeDb.Sync.ReconcileBench [-- --quick]
bool quick = args.Contains("--quick");
int[] sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
int[] diffs = [0, 1, 100, 1_000, 10_000];

await using var server = await BenchServer.StartAsync();
using GrpcSyncPeer peer = GrpcSyncPeer.Create(server.Address, new GrpcSyncPeerOptions { Deadline = TimeSpan.FromMinutes(5) });

Console.WriteLine("## Reconciliation: n shared leaves, d random differences split both ways");
Console.WriteLine();
Console.WriteLine("| n | d | method | round trips | wire bytes | bytes/diff | largest message | wall ms | found |");
Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|");
var random = new Random(42);
foreach (int n in sizes)
{
    var local = new MerkleIndex();
    var remote = new MerkleIndex();
    byte[] bytes = new byte[AssertionHash.Length];
    for (int i = 0; i < n; i++)
    {
        random.NextBytes(bytes);
        var leaf = new AssertionHash(bytes);
        local.Add(leaf);
        remote.Add(leaf);
    }

    server.Index = remote;
    int made = 0;
    foreach (int d in diffs)
    {
        for (; made < d; made++)
        {
            random.NextBytes(bytes);
            (random.Next(2) == 0 ? local : remote).Add(new AssertionHash(bytes));
        }

        _ = local.Root;
        _ = remote.Root;

        // (a) leaves exchange: v1 GetLeaves pages (with the cursor extension beyond the first 10,000).
        server.Reset();
        var clock = Stopwatch.StartNew();
        DiffResult diff = await DiffEngine.ComputeAsync(
            local,
            ExtendedSync.PagedPager(peer, new PeerCapabilities(), 10_000, ct => new CallDeadline(TimeSpan.FromMinutes(5), TimeProvider.System, ct)));
        clock.Stop();
        int found = diff.MissingLocally.Count + diff.MissingRemotely.Count;
        string method = remote.Count <= 10_000 ? "v1 GetLeaves" : "paged GetLeaves";
        Report(n, d, method, server, clock.Elapsed, found);

        // (b) Reconcile.
        server.Reset();
        clock.Restart();
        ReconcileResult result = await SetReconciler.ReconcileAsync(local, peer);
        clock.Stop();
        found = result.MissingLocally.Count + result.MissingRemotely.Count;
        Report(n, d, $"Reconcile ({result.Status})", server, clock.Elapsed, found);
    }
}

Console.WriteLine();
Console.WriteLine("## Batched gossip throughput vs in-process ingest (256-byte assertions)");
Console.WriteLine();
Console.WriteLine("| path | assertions | wall ms | assertions/s | vs in-process |");
Console.WriteLine("|---|---:|---:|---:|---:|");
int count = quick ? 20_000 : 100_000;
AssertionRecord[] records = MakeRecords(count);
double inProcessRate;
{
    // Warm-up of the receive path (JIT), not measured.
    await using SyncNode warm = await NewReceiverAsync();
    foreach (AssertionRecord record in MakeRecords(5_000, seed: 8))
    {
        await warm.Handler.GossipAsync(new GossipMessage(
            record.Hash.ToArray(), record.Data, record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray()));
    }
}

{
    await using SyncNode receiver = await NewReceiverAsync();
    var clock = Stopwatch.StartNew();
    foreach (AssertionRecord record in records)
    {
        GossipResult result = await receiver.Handler.GossipAsync(new GossipMessage(
            record.Hash.ToArray(), record.Data, record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray()));
        if (!result.Accepted)
        {
            throw new InvalidOperationException(result.Error);
        }
    }

    clock.Stop();
    inProcessRate = count / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"| in-process ingest (handler, same verification) | {count:N0} | {clock.ElapsedMilliseconds:N0} | {inProcessRate:N0} | 100% |");
}

{
    await using SyncNode receiver = await NewReceiverAsync();
    server.Handler = receiver.Handler;
    var store = new InMemoryAssertionStore();
    foreach (AssertionRecord record in records)
    {
        await store.PutAsync(record);
    }

    AssertionHash[] hashes = records.Select(r => r.Hash).ToArray();
    var clock = Stopwatch.StartNew();
    PushOutcome outcome = await ExtendedSync.PushAsync(
        store, peer, new PeerCapabilities(), hashes, ct => new CallDeadline(TimeSpan.FromMinutes(5), TimeProvider.System, ct), null, default);
    clock.Stop();
    double rate = outcome.Pushed / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"| GossipBatch over loopback gRPC (1,000/batch, 2 in flight) | {outcome.Pushed:N0} | {clock.ElapsedMilliseconds:N0} | {rate:N0} | {rate / inProcessRate:P0} |");
    if (receiver.Count != count)
    {
        throw new InvalidOperationException($"The receiver holds {receiver.Count}, not {count}.");
    }
}

{
    await using SyncNode receiver = await NewReceiverAsync();
    server.Handler = receiver.Handler;
    int unary = Math.Min(count, 10_000);
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < unary; i++)
    {
        await peer.GossipAsync(records[i]);
    }

    clock.Stop();
    double rate = unary / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"| v1 unary Gossip over loopback gRPC (1 in flight) | {unary:N0} | {clock.ElapsedMilliseconds:N0} | {rate:N0} | {rate / inProcessRate:P0} |");
}

return 0;

static void Report(int n, int d, string method, BenchServer server, TimeSpan elapsed, int found)
{
    string perDiff = d == 0 ? "-" : (server.Bytes / (double)d).ToString("N0", CultureInfo.InvariantCulture);
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"| {n:N0} | {d:N0} | {method} | {server.Calls} | {server.Bytes:N0} | {perDiff} | {server.Largest:N0} | {elapsed.TotalMilliseconds:N0} | {found:N0} |"));
}

static AssertionRecord[] MakeRecords(int count, int seed = 7)
{
    var random = new Random(seed);
    ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    var node = NodeId.NewId();
    var records = new AssertionRecord[count];
    for (int i = 0; i < count; i++)
    {
        byte[] data = new byte[256];
        random.NextBytes(data);
        records[i] = new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(now, (uint)i, node));
    }

    return records;
}

static async Task<SyncNode> NewReceiverAsync()
{
    var node = new SyncNode(
        new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan, GossipFanout = 0, MaxClockDrift = TimeSpan.FromMinutes(10) },
        new InMemoryAssertionStore());
    await node.StartAsync();
    return node;
}

/// <summary>
/// The responder side: a Kestrel server whose service answers GetLeaves and Reconcile from a bare index (no assertion
/// payloads), or delegates to a node's handler, and counts calls and protobuf message sizes (request + response).
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public MerkleIndex Index { get; set; } = new();

    public ISyncRequestHandler? Handler { get; set; }

    public int Calls;

    public long Bytes;

    public long Largest;

    public void Reset()
    {
        Calls = 0;
        Bytes = 0;
        Largest = 0;
    }

    public void Count(int request, int response)
    {
        Calls++;
        Bytes += request + response;
        Largest = Math.Max(Largest, Math.Max(request, response));
    }

    public static async Task<BenchServer> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);
        var holder = new Holder();
        builder.Services.AddSingleton(holder);
        builder.Services.AddSingleton<ISyncRequestHandler>(sp => new IndexHandler(sp.GetRequiredService<Holder>()));
        WebApplication app = builder.Build();
        app.MapGrpcService<CountingService>();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var server = new BenchServer(app, new Uri(address));
        holder.Server = server;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class Holder
    {
        public BenchServer Server { get; set; } = null!;
    }

    /// <summary>Counts protobuf sizes of GetLeaves and Reconcile calls.</summary>
    internal sealed class CountingService : SyncServiceImpl
    {
        private readonly Holder _holder;

        public CountingService(ISyncRequestHandler handler, Holder holder)
            : base(handler) => _holder = holder;

        public override async Task<GetLeavesResponse> GetLeaves(GetLeavesRequest request, ServerCallContext context)
        {
            GetLeavesResponse response = await base.GetLeaves(request, context);
            _holder.Server.Count(request.CalculateSize(), response.CalculateSize());
            return response;
        }

        public override async Task<ReconcileResponse> Reconcile(ReconcileRequest request, ServerCallContext context)
        {
            ReconcileResponse response = await base.Reconcile(request, context);
            _holder.Server.Count(request.CalculateSize(), response.CalculateSize());
            return response;
        }
    }

    /// <summary>GetLeaves and Reconcile from the bench index; gossip to the current node's handler.</summary>
    private sealed class IndexHandler : ISyncRequestHandler
    {
        private readonly Holder _holder;

        public IndexHandler(Holder holder) => _holder = holder;

        private ISyncRequestHandler Node => _holder.Server.Handler ?? throw new InvalidOperationException("No receiver node.");

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
            Node.GossipAsync(message, cancellationToken);

        public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default) =>
            Node.GossipBatchAsync(messages, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
            GetLeavesAsync(maxLeaves, ReadOnlyMemory<byte>.Empty, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default)
        {
            int cap = maxLeaves is 0 or > 10_000 ? 10_000 : (int)maxLeaves;
            AssertionHash? cursor = startAfter.Length == 0 ? null : new AssertionHash(startAfter.Span);
            IReadOnlyList<AssertionHash> leaves = _holder.Server.Index.GetLeaves(cursor, cap + 1);
            bool truncated = leaves.Count > cap;
            return new ValueTask<LeavesPage>(new LeavesPage(truncated ? leaves.Take(cap).ToArray() : leaves, truncated));
        }

        public ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken = default) =>
            new(SetReconciler.Respond(_holder.Server.Index, request));

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}

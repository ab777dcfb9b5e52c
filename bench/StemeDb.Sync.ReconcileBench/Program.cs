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
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Grpc.V1;
using ReconcileSymbolsRequest = StemeDb.Sync.ReconcileSymbolsRequest;
using ReconcileSymbolsResponse = StemeDb.Sync.ReconcileSymbolsResponse;

// Reconciliation and batched gossip over loopback gRPC (Kestrel, HTTP/2 cleartext), printed as tables.
// Every row checks its own result: the differences found must be exactly the ones made (or the row says that
// Reconcile gave up, which is the engine's cue to fall back to paged leaves); any other outcome exits non-zero.
// Usage: dotnet run -c Release --project bench/StemeDb.Sync.ReconcileBench [-- --quick | --smoke]
// --smoke (tiny sizes, seconds) is what CI runs, so that the benchmark cannot rot.
bool smoke = args.Contains("--smoke");
bool quick = args.Contains("--quick");
int[] sizes = smoke ? [5_000] : quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
int[] diffs = smoke ? [0, 1, 100] : quick ? [0, 1, 100, 1_000, 10_000] : [0, 1, 100, 1_000, 10_000, 100_000];

await using var server = await BenchServer.StartAsync();
using GrpcSyncPeer peer = GrpcSyncPeer.Create(server.Address, new GrpcSyncPeerOptions { Deadline = TimeSpan.FromMinutes(5) });

Console.WriteLine("## Reconciliation: n shared leaves, d random differences split both ways");
Console.WriteLine();
// Columns: "request/answer pairs" counts messages, not calls: a unary call is one pair, each request of a
// ReconcileSymbols stream with its answer is one. Both CPU columns are CPU time in ms: "responder CPU" is the thread CPU
// time (CLOCK_THREAD_CPUTIME_ID) of the responder's handler work (index reads, tables, symbols), measured around each
// answer on the thread that computes it; "rest of process CPU" is the process's CPU time over the row (getrusage) less
// that, i.e. the requester's work plus both sides' gRPC and HTTP/2 (none in the in-process row).
Console.WriteLine("| n | d | method | request/answer pairs | wire bytes | bytes/diff | largest message | responder CPU ms | rest of process CPU ms | wall ms | found |");
Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
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
    var localOnly = new HashSet<AssertionHash>();
    var remoteOnly = new HashSet<AssertionHash>();
    foreach (int d in diffs)
    {
        for (; made < d; made++)
        {
            random.NextBytes(bytes);
            var leaf = new AssertionHash(bytes);
            if (random.Next(2) == 0)
            {
                local.Add(leaf);
                localOnly.Add(leaf);
            }
            else
            {
                remote.Add(leaf);
                remoteOnly.Add(leaf);
            }
        }

        _ = local.Root;
        _ = remote.Root;
        _ = local.BeginSymbols(); // the symbols are kept from their first read on; that read (O(n) once) is not timed
        _ = remote.BeginSymbols();

        // (a) leaves exchange: v1 GetLeaves pages (with the cursor extension beyond the first 10,000).
        server.Reset();
        var clock = Stopwatch.StartNew();
        TimeSpan cpu = ProcessCpu();
        DiffResult diff = await SortedDiff.ComputeAsync(
            local,
            PeerDiff.Pager(new PeerCalls(peer, TimeSpan.FromMinutes(5), TimeProvider.System), 10_000));
        clock.Stop();
        server.ProcessCpu = ProcessCpu() - cpu;
        string method = remote.Count <= 10_000 ? "v1 GetLeaves" : "paged GetLeaves";
        Check(method, n, d, diff.Complete, diff.MissingLocally, diff.MissingRemotely, remoteOnly, localOnly);
        Report(n, d, method, server, clock.Elapsed, (diff.MissingLocally.Count + diff.MissingRemotely.Count).ToString("N0", CultureInfo.InvariantCulture));

        // (b) Reconcile.
        server.Reset();
        clock.Restart();
        cpu = ProcessCpu();
        ReconcileResult result = await SetReconciler.ReconcileCoreAsync(local, ((ISyncPeer)peer).ReconcileAsync, CancellationToken.None);
        clock.Stop();
        server.ProcessCpu = ProcessCpu() - cpu;
        bool decoded = result.Status is ReconcileStatus.Identical or ReconcileStatus.Reconciled;
        if (decoded)
        {
            Check("Reconcile", n, d, true, result.MissingLocally, result.MissingRemotely, remoteOnly, localOnly);
        }

        Report(
            n,
            d,
            $"Reconcile ({result.Status})",
            server,
            clock.Elapsed,
            decoded ? (result.MissingLocally.Count + result.MissingRemotely.Count).ToString("N0", CultureInfo.InvariantCulture) : "falls back");

        // (c) ReconcileSymbols (rateless coded symbols) over its gRPC stream; the server counts each message's protobuf size.
        server.Reset();
        clock.Restart();
        cpu = ProcessCpu();
        ReconcileResult symbols;
        string status;
        await using (IReconcileSymbolsCall call = await ((ISyncPeer)peer).OpenReconcileSymbolsAsync())
        {
            try
            {
                symbols = await SymbolReconciler.ReconcileCoreAsync(local, (request, ct) => call.ExchangeAsync(request, ct), CancellationToken.None);
                status = symbols.Status.ToString();
            }
            catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.ResourceExhausted)
            {
                // Past the symbols the server keeps (about 0.15 to 0.3 per assertion): a node hands the pass to Reconcile.
                symbols = new ReconcileResult(ReconcileStatus.DecodeFailed, [], [], server.Calls, 0, server.Bytes, server.Largest);
                status = "past the kept symbols";
            }
        }

        clock.Stop();
        server.ProcessCpu = ProcessCpu() - cpu;
        bool symbolsDecoded = symbols.Status is ReconcileStatus.Identical or ReconcileStatus.Reconciled;
        if (symbolsDecoded)
        {
            Check("ReconcileSymbols", n, d, true, symbols.MissingLocally, symbols.MissingRemotely, remoteOnly, localOnly);
        }

        Report(
            n,
            d,
            $"ReconcileSymbols ({status}, one stream)",
            server,
            clock.Elapsed,
            symbolsDecoded ? (symbols.MissingLocally.Count + symbols.MissingRemotely.Count).ToString("N0", CultureInfo.InvariantCulture) : "falls back");

        // (d) The same exchange in process, without a transport: each side's own CPU, without gRPC's and HTTP/2's. The
        // responder answers on the caller's thread, so the client's CPU is the process's over the row less the responder's.
        if (symbolsDecoded)
        {
            (long streamBytes, long streamLargest) = (server.Bytes, server.Largest);
            server.Reset();
            clock.Restart();
            cpu = ProcessCpu();
            ReconcileResult inProcess = await SymbolReconciler.ReconcileCoreAsync(
                local,
                (request, _) =>
                {
                    server.Count(0, 0);
                    return new ValueTask<ReconcileSymbolsResponse>(server.RespondSymbols(request));
                },
                CancellationToken.None);
            clock.Stop();
            server.ProcessCpu = ProcessCpu() - cpu;
            Check("ReconcileSymbols in process", n, d, inProcess.Status is ReconcileStatus.Identical or ReconcileStatus.Reconciled, inProcess.MissingLocally, inProcess.MissingRemotely, remoteOnly, localOnly);
            (server.Bytes, server.Largest) = (streamBytes, streamLargest); // the same messages as over gRPC, not serialized here
            Report(n, d, "ReconcileSymbols in process, no transport (bytes as on the stream)", server, clock.Elapsed, (inProcess.MissingLocally.Count + inProcess.MissingRemotely.Count).ToString("N0", CultureInfo.InvariantCulture));
        }
    }
}

Console.WriteLine();
int count = smoke ? 2_000 : quick ? 20_000 : 100_000;
AssertionRecord[] records = MakeRecords(count);
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"## Batched gossip throughput vs in-process ingest (rkyv Assertion archives of {records.Average(r => r.Data.Length):F0} bytes on average)"));
Console.WriteLine();
// Each gRPC row is compared with the in-process handler at the same concurrency: batches of 1,000 with 2 in flight (as
// BulkPush sends them) for GossipBatch, one record at a time for unary Gossip.
Console.WriteLine("| path | assertions | wall ms | assertions/s | vs in-process at the same concurrency |");
Console.WriteLine("|---|---:|---:|---:|---:|");
double inProcessRate;
double inProcessBatchRate;
{
    // Warm-up of the receive path (JIT), not measured.
    await using SyncNode warm = await NewReceiverAsync();
    foreach (AssertionRecord record in MakeRecords(smoke ? 500 : 5_000, seed: 8))
    {
        GossipResult result = await warm.Handler.GossipAsync(new GossipMessage(
            record.Hash.ToArray(), record.Data, record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray()));
        if (!result.Accepted)
        {
            throw new InvalidOperationException($"Warm-up push refused: {result.Error}");
        }
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
    Console.WriteLine($"| in-process ingest: handler GossipAsync, one record at a time (baseline of unary Gossip) | {count:N0} | {clock.ElapsedMilliseconds:N0} | {inProcessRate:N0} | 100% |");
}

{
    await using SyncNode receiver = await NewReceiverAsync();
    GossipMessage[][] batches = records
        .Select(r => new GossipMessage(r.Hash.ToArray(), r.Data, r.Timestamp.Time, r.Timestamp.Counter, r.Timestamp.NodeId.ToArray()))
        .Chunk(1_000)
        .ToArray();
    var clock = Stopwatch.StartNew();
    var inFlight = new Queue<Task<IReadOnlyList<GossipResult>>>();
    foreach (GossipMessage[] batch in batches)
    {
        if (inFlight.Count == 2)
        {
            CheckAccepted(await inFlight.Dequeue());
        }

        inFlight.Enqueue(Task.Run(async () => await receiver.Handler.GossipBatchAsync(batch)));
    }

    while (inFlight.Count > 0)
    {
        CheckAccepted(await inFlight.Dequeue());
    }

    clock.Stop();
    inProcessBatchRate = count / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"| in-process ingest: handler GossipBatch, 1,000/batch, 2 in flight (baseline of GossipBatch) | {count:N0} | {clock.ElapsedMilliseconds:N0} | {inProcessBatchRate:N0} | 100% |");
    if (receiver.Count != count)
    {
        throw new InvalidOperationException($"The receiver holds {receiver.Count}, not {count}.");
    }
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
    PushOutcome outcome = await BulkPush.PushAsync(
        store, new PeerCalls(peer, TimeSpan.FromMinutes(5), TimeProvider.System), hashes, null, default);
    clock.Stop();
    double rate = outcome.Pushed / clock.Elapsed.TotalSeconds;
    Console.WriteLine($"| GossipBatch over loopback gRPC (1,000/batch, 2 in flight) | {outcome.Pushed:N0} | {clock.ElapsedMilliseconds:N0} | {rate:N0} | {rate / inProcessBatchRate:P0} |");
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
    if (receiver.Count != unary)
    {
        throw new InvalidOperationException($"The receiver holds {receiver.Count}, not {unary}.");
    }
}

return 0;

static void CheckAccepted(IReadOnlyList<GossipResult> results)
{
    foreach (GossipResult result in results)
    {
        if (!result.Accepted)
        {
            throw new InvalidOperationException($"A pushed assertion was refused: {result.Error}");
        }
    }
}

// The row must have found exactly the differences that were made.
static void Check(
    string method,
    int n,
    int d,
    bool complete,
    IReadOnlyList<AssertionHash> missingLocally,
    IReadOnlyList<AssertionHash> missingRemotely,
    HashSet<AssertionHash> remoteOnly,
    HashSet<AssertionHash> localOnly)
{
    if (!complete || !remoteOnly.SetEquals(missingLocally) || missingLocally.Count != remoteOnly.Count
        || !localOnly.SetEquals(missingRemotely) || missingRemotely.Count != localOnly.Count)
    {
        throw new InvalidOperationException(string.Create(
            CultureInfo.InvariantCulture,
            $"{method} at n = {n}, d = {d} found {missingLocally.Count} + {missingRemotely.Count} differences (complete: {complete}), not the {remoteOnly.Count} + {localOnly.Count} made."));
    }
}

// Responder CPU: the thread CPU time of the responder's handler code (index reads, tables, symbols). Rest of process CPU:
// the process's CPU time over the row less that; for the gRPC rows it includes both sides' gRPC and HTTP/2 work, for the
// in-process row none. Both are CPU time, in ms.
static void Report(int n, int d, string method, BenchServer server, TimeSpan elapsed, string found)
{
    string perDiff = d == 0 ? "-" : (server.Bytes / (double)d).ToString("N0", CultureInfo.InvariantCulture);
    double serverMs = server.HandlerTime.TotalMilliseconds;
    double clientMs = (server.ProcessCpu - server.HandlerTime).TotalMilliseconds;
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"| {n:N0} | {d:N0} | {method} | {server.Calls} | {server.Bytes:N0} | {perDiff} | {server.Largest:N0} | {serverMs:N1} | {clientMs:N1} | {elapsed.TotalMilliseconds:N0} | {found:N0} |"));
}

// The process's user and kernel time, to the microsecond (getrusage; Process.TotalProcessorTime counts 10 ms ticks on Linux).
static TimeSpan ProcessCpu() => Environment.CpuUsage.TotalTime;

static AssertionRecord[] MakeRecords(int count, int seed = 7)
{
    // Valid StemeDB assertions (the node's default content validator checks them), about 256 bytes each.
    var random = new Random(seed);
    ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    var node = NodeId.NewId();
    var records = new AssertionRecord[count];
    for (int i = 0; i < count; i++)
    {
        var hlc = new HlcTimestamp(now, (uint)i, node);
        string text = Convert.ToHexString(BitConverter.GetBytes(random.NextInt64())) + new string('x', 120);
        byte[] data = AssertionCodec.Encode(new Assertion($"bench:{seed}:{i}", "bench/value", AssertionValue.FromText(text), hlc, node));
        records[i] = new AssertionRecord(AssertionHash.Compute(data), data, hlc);
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

    public TimeSpan HandlerTime;

    public TimeSpan ProcessCpu;

    public void Reset()
    {
        Calls = 0;
        Bytes = 0;
        Largest = 0;
        HandlerTime = TimeSpan.Zero;
        ProcessCpu = TimeSpan.Zero;
    }

    public void Count(int request, int response)
    {
        Calls++;
        Bytes += request + response;
        Largest = Math.Max(Largest, Math.Max(request, response));
    }

    /// <summary>Answers a <c>ReconcileSymbols</c> request from <see cref="Index"/>, adding its thread CPU time to the handler time.</summary>
    public ReconcileSymbolsResponse RespondSymbols(ReconcileSymbolsRequest request)
    {
        TimeSpan start = ThreadCpu.Now();
        ReconcileSymbolsResponse response = SymbolReconciler.Respond(Index, request);
        HandlerTime += ThreadCpu.Now() - start;
        return response;
    }

    /// <summary>Adds an answer counted apart from its request (a stream's).</summary>
    public void AddResponse(int response)
    {
        Bytes += response;
        Largest = Math.Max(Largest, response);
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
            : base(new SyncServer(handler)) => _holder = holder;

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

        public override Task ReconcileSymbols(
            IAsyncStreamReader<StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest> requestStream,
            IServerStreamWriter<StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse> responseStream,
            ServerCallContext context) =>
            base.ReconcileSymbols(new CountingReader(requestStream, _holder), new CountingWriter(responseStream, _holder), context);
    }

    /// <summary>Counts each request of a stream as one call with its protobuf size (the answer's size is added as it is written).</summary>
    private sealed class CountingReader(IAsyncStreamReader<StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest> inner, Holder holder)
        : IAsyncStreamReader<StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest>
    {
        public StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            bool more = await inner.MoveNext(cancellationToken);
            if (more)
            {
                holder.Server.Count(inner.Current.CalculateSize(), 0);
            }

            return more;
        }
    }

    private sealed class CountingWriter(IServerStreamWriter<StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse> inner, Holder holder)
        : IServerStreamWriter<StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse>
    {
        public WriteOptions? WriteOptions { get => inner.WriteOptions; set => inner.WriteOptions = value; }

        public Task WriteAsync(StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse message)
        {
            holder.Server.AddResponse(message.CalculateSize());
            return inner.WriteAsync(message);
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
            TimeSpan start = ThreadCpu.Now();
            int cap = maxLeaves is 0 or > 10_000 ? 10_000 : (int)maxLeaves;
            AssertionHash? cursor = startAfter.Length == 0 ? null : new AssertionHash(startAfter.Span);
            IReadOnlyList<AssertionHash> leaves = _holder.Server.Index.GetLeaves(cursor, cap + 1);
            bool truncated = leaves.Count > cap;
            var page = new LeavesPage(truncated ? leaves.Take(cap).ToArray() : leaves, truncated);
            _holder.Server.HandlerTime += ThreadCpu.Now() - start;
            return new ValueTask<LeavesPage>(page);
        }

        ValueTask<ReconcileRoundResponse> ISyncRequestHandler.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken)
        {
            TimeSpan start = ThreadCpu.Now();
            ReconcileRoundResponse response = SetReconciler.Respond(_holder.Server.Index, request);
            _holder.Server.HandlerTime += ThreadCpu.Now() - start;
            return new(response);
        }

        ValueTask<ReconcileSymbolsResponse> ISyncRequestHandler.ReconcileSymbolsAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken) =>
            new(_holder.Server.RespondSymbols(request));

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}

/// <summary>
/// The calling thread's CPU time (user and kernel), from <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, to the nanosecond.
/// Linux only: elsewhere the benchmark stops with a message rather than print wall time in a CPU column.
/// </summary>
internal static class ThreadCpu
{
    private const int ClockThreadCpuTimeId = 3;

    public static TimeSpan Now()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The responder CPU column needs CLOCK_THREAD_CPUTIME_ID (Linux).");
        }

        if (ClockGetTime(ClockThreadCpuTimeId, out TimeSpec time) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");
        }

        return TimeSpan.FromTicks((time.Seconds * TimeSpan.TicksPerSecond) + (time.Nanoseconds / 100));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.RocksDb;
using StemeDb.Sync.Sqlite;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Bootstrap of a fresh replica, and export / import, on one data set in one run. Run: <c>dotnet run -c Release
/// --project bench/StemeDb.Sync.Benchmarks -- bootstrap [--count 1000000]</c>.
/// </summary>
/// <remarks>
/// <para>
/// A source node (in-memory store) is loaded with the <see cref="IngestCorpus"/> assertions and served over loopback
/// gRPC (Kestrel, HTTP/2 cleartext). Then, each into a fresh node (rkyv content validator, no gossip, no background
/// loops), one after the other:
/// </para>
/// <list type="number">
/// <item>pull: one <see cref="SyncNode.SyncWithPeerAsync"/> pass against the source over gRPC through a peer that refuses
/// <c>StreamAssertions</c> (as a peer of an older version does), so the engine uses Reconcile, paged leaves and fetches of
/// 1,000, with the TCP bytes counted in both directions;</item>
/// <item>streaming pull: the same pass with the extension, which pulls the whole set by one <c>StreamAssertions</c> call;</item>
/// <item>in-process receive: the source's records pushed to the fresh node's handler in <c>GossipBatch</c> calls of
/// 1,000 (the same verification as a fetched record; the records are read from the source before the timing);</item>
/// <item>export of the source's store to a memory stream, then import of that stream (<see cref="AssertionStream.ImportAsync(Stream, SyncNode, IProgress{AssertionStreamProgress}?, CancellationToken)"/>);</item>
/// <item><see cref="SyncNode.IngestManyAsync"/> of the same assertion bytes, 1,024 per call (the import's batch);</item>
/// <item>import of the stream from a file into a node over a SQLite store (a bootstrap from a backup), then
/// <see cref="SyncNode.IngestManyAsync"/> of the same assertions into another SQLite store.</item>
/// </list>
/// <para>
/// Every phase ends by checking that the fresh node's count and root equal the source's; the harness exits 1 if any
/// does not. The managed heap is sampled every 10 ms; the table gives its peak above the level after a full collection
/// before the phase, what the fresh node holds after it (the heap after a full collection with the node, less the heap
/// after one without it: its Merkle index and, over the in-memory store, its store), and the difference: what the phase
/// itself held at its peak (buffers, batches, garbage not yet collected).
/// </para>
/// </remarks>
internal static class BootstrapHarness
{
    /// <summary>The first argument that selects this harness.</summary>
    public const string Command = "bootstrap";

    /// <summary>Runs the harness and prints the table.</summary>
    /// <param name="args">The arguments after <see cref="Command"/>.</param>
    /// <returns>The exit code: 0, 1 when a phase ended with the wrong set, 2 for a bad command line.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        int count = 1_000_000;
        bool withSqlite = true;
        bool parsed = HarnessSupport.TryParseArguments(
            args,
            $"{Command} [--count 1000000] [--without-sqlite]",
            (name, value) =>
            {
                switch (name)
                {
                    case "--count": count = HarnessSupport.Count(name, value); break;
                    case "--without-sqlite": withSqlite = false; break; // the SQLite rows take minutes per million
                    default: throw HarnessSupport.UnknownArgument(name);
                }
            },
            ["--without-sqlite"]);
        if (!parsed)
        {
            return 2;
        }

        Console.WriteLine($"## Bootstrap, export and import of {count:N0} assertions");
        Console.WriteLine();
        Console.WriteLine(HarnessSupport.MachineLine());
        Console.WriteLine($"Load average at start: {HarnessSupport.LoadAverage()}");
        var started = Stopwatch.StartNew();

        (byte[] buffer, int[] offsets) = IngestCorpus.Create(count);
        ReadOnlyMemory<byte>[] corpus = IngestCorpus.Slices(buffer, offsets);

        var sourceStore = new InMemoryAssertionStore();
        await using SyncNode source = await HarnessSupport.StartQuietNodeAsync(sourceStore);
        await HarnessSupport.IngestInBatchesAsync(source, corpus);

        Console.WriteLine(HarnessSupport.Invariant($"Source: {source.Count:N0} assertions, {buffer.Length / (double)count:F1} bytes each on average, root {source.Root}."));
        Console.WriteLine();

        var rows = new List<Row>();
        bool ok = true;
        await using (var server = await LoopbackServer.StartAsync(source))
        {
            // 1. Pull over gRPC without the streaming extension: Reconcile, paged leaves, fetches of 1,000.
            var withoutStream = new WithoutStreamPeer(server.Peer);
            rows.Add(await MeasureAsync("pull: SyncWithPeerAsync over loopback gRPC, paged leaves and fetches (StreamAssertions refused)", source, count, async node =>
            {
                server.ResetCounters();
                SyncPassResult pass = await node.SyncWithPeerAsync(withoutStream);
                return $"{pass.Fetched:N0} fetched in {pass.RoundTrips:N0} round trips; TCP bytes client→server {server.BytesSent:N0}, server→client {server.BytesReceived:N0} ({server.BytesReceived / (double)count:F0} B/assertion)";
            }));

            // 2. The same pass with the streaming extension: the fresh node pulls by StreamAssertions.
            rows.Add(await MeasureAsync("streaming pull: SyncWithPeerAsync over loopback gRPC (StreamAssertions)", source, count, async node =>
            {
                server.ResetCounters();
                SyncPassResult pass = await node.SyncWithPeerAsync(server.Peer);
                return $"{pass.Fetched:N0} fetched in {pass.RoundTrips:N0} round trips; TCP bytes client→server {server.BytesSent:N0}, server→client {server.BytesReceived:N0} ({server.BytesReceived / (double)count:F0} B/assertion)";
            }));
        }

        // 2. In-process receive: the handler path, with the verification of any received record.
        IReadOnlyList<AssertionRecord> records = await ReadAllAsync(sourceStore);
        rows.Add(await MeasureAsync("in-process receive: handler GossipBatch of 1,000 (one GossipAsync per record inside, allocations timed, one thread; not the pull's bulk store path)", source, count, async node =>
        {
            for (int i = 0; i < records.Count; i += SyncProtocol.MaxGossipBatch)
            {
                var batch = new GossipMessage[Math.Min(SyncProtocol.MaxGossipBatch, records.Count - i)];
                for (int j = 0; j < batch.Length; j++)
                {
                    AssertionRecord r = records[i + j];
                    batch[j] = new GossipMessage(r.Hash.ToArray(), r.Data, r.Timestamp.Time, r.Timestamp.Counter, r.Timestamp.NodeId.ToArray());
                }

                IReadOnlyList<GossipResult> results = await node.Handler.GossipBatchAsync(batch);
                if (results.Any(result => !result.Accepted))
                {
                    throw new InvalidOperationException("The handler rejected a record: " + results.First(result => !result.Accepted).Error);
                }
            }

            return "the records were read from the source's store before the timing";
        }));
        records = [];

        // 3. Export, then import from memory.
        var stream = new MemoryStream();
        long exportStart = Stopwatch.GetTimestamp();
        await AssertionStream.ExportAsync(sourceStore, stream);
        double exportSeconds = Stopwatch.GetElapsedTime(exportStart).TotalSeconds;
        rows.Add(new Row("export: AssertionStream.ExportAsync of the source's store to memory", exportSeconds, count, stream.Length, stream.Length, true, $"{stream.Length:N0} bytes ({stream.Length / (double)count:F0} B/assertion)"));
        rows.Add(await MeasureAsync("import: AssertionStream.ImportAsync from memory", source, count, async node =>
        {
            stream.Position = 0;
            AssertionImportResult result = await AssertionStream.ImportAsync(stream, node);
            return $"{result.Added:N0} added";
        }));

        // 4. IngestManyAsync of the same bytes.
        rows.Add(await MeasureAsync("IngestManyAsync of the same assertions, 1,024 per call", source, count, async node =>
        {
            await HarnessSupport.IngestInBatchesAsync(node, corpus);
            return "restamped by the node's clock";
        }));

        // 5. Import of a file into a SQLite store.
        string directory = Path.Combine(Path.GetTempPath(), "stemedb-bootstrap-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string file = Path.Combine(directory, "assertions.stream");
            await File.WriteAllBytesAsync(file, stream.ToArray());
            stream = new MemoryStream();
            if (withSqlite)
            {
                SqliteAssertionStore sqlite = await SqliteAssertionStore.OpenAsync(Path.Combine(directory, "assertions.db"));
                await using (sqlite)
                {
                    rows.Add(await MeasureAsync("import: a file into a SQLite store", source, count, async node =>
                    {
                        await using FileStream input = File.OpenRead(file);
                        AssertionImportResult result = await AssertionStream.ImportAsync(input, node);
                        return $"{result.Added:N0} added; file {input.Length:N0} bytes";
                    }, sqlite));
                }

                SqliteAssertionStore ingested = await SqliteAssertionStore.OpenAsync(Path.Combine(directory, "ingested.db"));
                await using (ingested)
                {
                    rows.Add(await MeasureAsync("IngestManyAsync of the same assertions into a SQLite store, 1,024 per call", source, count, async node =>
                    {
                        await HarnessSupport.IngestInBatchesAsync(node, corpus);
                        return "restamped by the node's clock";
                    }, ingested));
                }
            }

            // 6. The same two into RocksDB stores (power-loss safe: one WAL sync per group commit), then a restart: the
            // store opened again and a node started over it (the index rebuilt from the store's hashes).
            string rocksImport = Path.Combine(directory, "rocksdb-import");
            await using (RocksDbAssertionStore rocks = RocksDbAssertionStore.Open(rocksImport))
            {
                rows.Add(await MeasureAsync("import: a file into a RocksDB store", source, count, async node =>
                {
                    await using FileStream input = File.OpenRead(file);
                    AssertionImportResult result = await AssertionStream.ImportAsync(input, node);
                    return $"{result.Added:N0} added";
                }, rocks));
            }

            string rocksIngest = Path.Combine(directory, "rocksdb-ingest");
            await using (RocksDbAssertionStore rocks = RocksDbAssertionStore.Open(rocksIngest))
            {
                rows.Add(await MeasureAsync("IngestManyAsync of the same assertions into a RocksDB store, 1,024 per call", source, count, async node =>
                {
                    await HarnessSupport.IngestInBatchesAsync(node, corpus);
                    return "restamped by the node's clock";
                }, rocks));
            }

            long diskBytes = new DirectoryInfo(rocksImport).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            long restartStart = Stopwatch.GetTimestamp();
            await using (RocksDbAssertionStore reopened = RocksDbAssertionStore.Open(rocksImport))
            {
                SyncNode restarted = await HarnessSupport.StartQuietNodeAsync(reopened);
                bool same = restarted.Count == source.Count && restarted.Root == source.Root;
                double seconds = Stopwatch.GetElapsedTime(restartStart).TotalSeconds;
                rows.Add(new Row("restart: RocksDbAssertionStore.Open and StartAsync over the imported store", seconds, count, 0, 0, same,
                    $"disk {diskBytes:N0} bytes ({diskBytes / (double)count:F0} B/assertion); the node's index rebuilt from the store"));
                await restarted.DisposeAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }

        Console.WriteLine("| phase | time s | assertions/s | heap peak above start MiB | heap the node retains after MiB | peak above what it retains MiB | set and root checked | notes |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|:---:|---|");
        foreach (Row row in rows)
        {
            ok &= row.Checked;
            Console.WriteLine(HarnessSupport.Invariant(
                $"| {row.Name} | {row.Seconds:F2} | {row.Count / row.Seconds:N0} | {Mib(row.PeakHeap)} | {Mib(row.Retained)} | {Mib(Math.Max(0, row.PeakHeap - row.Retained))} | {(row.Checked ? "yes" : "**NO**")} | {row.Notes} |"));
        }

        Console.WriteLine();
        double pull = count / rows[0].Seconds, streamPull = count / rows[1].Seconds, inProcess = count / rows[2].Seconds;
        double import = count / rows[4].Seconds, ingestMany = count / rows[5].Seconds;
        Console.WriteLine(HarnessSupport.Invariant($"Streaming pull over gRPC / import from memory (same run): {HarnessSupport.Percent(streamPull / import)} (target at least 60%)."));
        Console.WriteLine(HarnessSupport.Invariant($"Pull over gRPC with paged leaves and fetches / import from memory (same run): {HarnessSupport.Percent(pull / import)}."));
        Console.WriteLine(HarnessSupport.Invariant($"Streaming pull over gRPC / in-process receive by handler GossipBatch (a slower baseline: one GossipAsync per record): {HarnessSupport.Percent(streamPull / inProcess)}."));
        Console.WriteLine(HarnessSupport.Invariant($"Import from memory / IngestManyAsync: {HarnessSupport.Percent(import / ingestMany)} (target at least 80%)."));
        int rocksRow = withSqlite ? 8 : 6; // the RocksDB import, then its IngestManyAsync, then the restart
        double rocksImportRate = count / rows[rocksRow].Seconds, rocksIngestRate = count / rows[rocksRow + 1].Seconds;
        Console.WriteLine(HarnessSupport.Invariant($"Import of a file into RocksDB / import from memory into the in-memory store: {HarnessSupport.Percent(rocksImportRate / import)} (target at least 25%)."));
        Console.WriteLine(HarnessSupport.Invariant($"IngestManyAsync into RocksDB / IngestManyAsync into the in-memory store: {HarnessSupport.Percent(rocksIngestRate / ingestMany)} (target at least 25%)."));
        Console.WriteLine(HarnessSupport.Invariant($"Restart of a node over {count:N0} assertions in RocksDB: {rows[rocksRow + 2].Seconds:F2} s (target at most 5 s for 1,000,000)."));
        if (withSqlite)
        {
            Console.WriteLine(HarnessSupport.Invariant($"Import of a file into SQLite / IngestManyAsync into SQLite: {HarnessSupport.Percent(rows[7].Seconds / rows[6].Seconds)}."));
            Console.WriteLine(HarnessSupport.Invariant($"SQLite / the in-memory store: import {HarnessSupport.Percent(count / rows[6].Seconds / import)}, IngestManyAsync {HarnessSupport.Percent(count / rows[7].Seconds / ingestMany)}."));
            Console.WriteLine(HarnessSupport.Invariant($"Import of a file into SQLite, heap peak above what the node retains (its Merkle index): {Mib(Math.Max(0, rows[6].PeakHeap - rows[6].Retained))} MiB (target at most 64 MiB)."));
        }
        Console.WriteLine(HarnessSupport.Invariant($"Total time {started.Elapsed.TotalSeconds:N0} s."));
        Console.WriteLine($"Load average at end: {HarnessSupport.LoadAverage()}");
        if (!ok)
        {
            Console.Error.WriteLine("A phase ended with a set other than the source's.");
        }

        return ok ? 0 : 1;
    }

    private static string Mib(long bytes) => HarnessSupport.Invariant($"{bytes / 1048576.0:F0}");

    /// <summary>Runs one phase into a fresh node, timing it and sampling memory; checks the node ends with the source's set.</summary>
    private static async Task<Row> MeasureAsync(string name, SyncNode source, int count, Func<SyncNode, Task<string>> phase, IAssertionStore? store = null)
    {
        SyncNode? node = await HarnessSupport.StartQuietNodeAsync(store ?? new InMemoryAssertionStore());
        using var sampler = new MemorySampler();
        long start = Stopwatch.GetTimestamp();
        string notes = await phase(node);
        bool matches = node.Count == source.Count && node.Root == source.Root; // the root read is part of the timing
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long peak = await sampler.StopAsync();
        if (!matches)
        {
            notes += $"; ended with {node.Count:N0} assertions, root {node.Root}";
        }

        // What the node holds (its index; over the in-memory store, its store too): the heap with it, then without it.
        long withNode = GC.GetTotalMemory(forceFullCollection: true);
        await node.DisposeAsync();
        node = null;
        long retained = Math.Max(0, withNode - GC.GetTotalMemory(forceFullCollection: true));
        return new Row(name, seconds, count, retained, peak, matches, notes);
    }

    private static async Task<IReadOnlyList<AssertionRecord>> ReadAllAsync(IAssertionStore store)
    {
        var hashes = new List<AssertionHash>();
        await foreach (AssertionHash hash in store.EnumerateHashesAsync())
        {
            hashes.Add(hash);
        }

        return await store.GetManyAsync(hashes);
    }

    /// <summary>The gRPC peer as a peer without the streaming extension (an older version of this library): StreamAssertions answers Unimplemented.</summary>
    private sealed class WithoutStreamPeer(ISyncPeer inner) : ISyncPeer
    {
        public string Name => inner.Name;

        public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default) => inner.GossipAsync(record, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) => inner.ExchangeRootsAsync(local, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => inner.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default) =>
            inner.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
            inner.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) => inner.PingAsync(self, cancellationToken);

        ValueTask<ReconcileRoundResponse> ISyncPeer.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken) =>
            inner.ReconcileAsync(request, cancellationToken);

        public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default) =>
            inner.GossipBatchAsync(records, cancellationToken);
    }

    /// <summary>One phase: its time, the heap the fresh node retains after it (its index and, in memory, its store), the heap's peak above the start.</summary>
    private sealed record Row(string Name, double Seconds, int Count, long Retained, long PeakHeap, bool Checked, string Notes);

    /// <summary>Samples the managed heap every 10 ms; reports its peak above the start.</summary>
    private sealed class MemorySampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _peakHeap;

        public MemorySampler()
        {
            Start = GC.GetTotalMemory(forceFullCollection: true);
            _peakHeap = Start;
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Sample();
                    await Task.Delay(10).ConfigureAwait(false);
                }
            });
        }

        /// <summary>The managed heap when sampling started.</summary>
        public long Start { get; }

        public async Task<long> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            Sample();
            return _peakHeap - Start;
        }

        public void Dispose() => _stop.Dispose();

        private void Sample() => _peakHeap = Math.Max(_peakHeap, GC.GetTotalMemory(forceFullCollection: false));
    }

    /// <summary>The source served on loopback, and a peer reaching it whose TCP bytes are counted.</summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly GrpcChannel _channel;
        private long _sent, _received;

        private LoopbackServer(WebApplication app, string address)
        {
            _app = app;
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new CountingStream(new NetworkStream(socket, ownsSocket: true), this);
                },
            };
            _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
            Peer = new GrpcSyncPeer(_channel);
        }

        public GrpcSyncPeer Peer { get; }

        public long BytesSent => Interlocked.Read(ref _sent);

        public long BytesReceived => Interlocked.Read(ref _received);

        public static async Task<LoopbackServer> StartAsync(SyncNode node)
        {
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = null);
            builder.Services.AddSingleton(new SyncServer(node.Handler));
            builder.Services.AddSingleton<SyncServiceImpl>();
            WebApplication app = builder.Build();
            app.MapGrpcService<SyncServiceImpl>();
            await app.StartAsync();
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new LoopbackServer(app, address);
        }

        public void ResetCounters()
        {
            Interlocked.Exchange(ref _sent, 0);
            Interlocked.Exchange(ref _received, 0);
        }

        public async ValueTask DisposeAsync()
        {
            Peer.Dispose();
            _channel.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        /// <summary>A connection that counts the bytes read and written.</summary>
        private sealed class CountingStream(Stream inner, LoopbackServer owner) : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override void Flush() => inner.Flush();

            public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

            public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
                Counted(await inner.ReadAsync(buffer, cancellationToken));

            public override void Write(byte[] buffer, int offset, int count)
            {
                Interlocked.Add(ref owner._sent, count);
                inner.Write(buffer, offset, count);
            }

            public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            {
                Interlocked.Add(ref owner._sent, buffer.Length);
                return inner.WriteAsync(buffer, cancellationToken);
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }

            private int Counted(int read)
            {
                Interlocked.Add(ref owner._received, read);
                return read;
            }
        }
    }
}

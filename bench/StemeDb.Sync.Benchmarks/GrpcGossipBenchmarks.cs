using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Benchmarks.Noop;
using StemeDb.Sync.Codec;
using StemeDb.Sync.Engine;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Storage;
using StemeDb.Sync.Transport;
using StemeDb.Sync.Validation;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// v1 gossip throughput between two nodes over loopback gRPC (HTTP/2 cleartext, Kestrel on 127.0.0.1), next to a bare
/// no-op unary RPC with a payload of the same size over the same kind of channel, at 1 and 64 calls in flight.
/// </summary>
/// <remarks>
/// The sender is <see cref="GrpcSyncPeer"/> (what a node uses to gossip); the receiver is a <see cref="SyncNode"/>
/// served by <see cref="SyncServiceImpl"/>, which verifies (drift, size, rkyv content, BLAKE3) and stores each assertion
/// (real rkyv <c>Assertion</c> archives of about 256 bytes; the no-op carries a payload of the same size).
/// Every gossiped assertion is new to the receiver. One invocation is <see cref="CallsPerInvoke"/> calls; divide to get
/// per-call time, and its inverse for calls per second. Run:
/// <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- --filter '*GrpcGossip*'</c>.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: Warmups, iterationCount: Iterations, invocationCount: 1)]
public class GrpcGossipBenchmarks
{
    /// <summary>Calls per benchmark invocation.</summary>
    public const int CallsPerInvoke = 4000;

    private const int TextBytes = 160; // the encoded assertion is about 256 bytes
    private const int Warmups = 3;
    private const int Iterations = 15;

    private WebApplication _app = null!;
    private SyncNode _receiver = null!;
    private GrpcChannel _channel = null!;
    private GrpcSyncPeer _peer = null!;
    private NoopService.NoopServiceClient _noop = null!;
    private NoopRequest _noopRequest = null!;
    private AssertionRecord[] _pool = [];
    private int _poolNext;
    private NodeId _sender;

    /// <summary>Calls in flight at once.</summary>
    [Params(1, 64)]
    public int InFlight { get; set; }

    /// <summary>Starts the receiving node and its server, and the client channel.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _receiver = new SyncNode(
            new SyncNodeOptions
            {
                AntiEntropyInterval = Timeout.InfiniteTimeSpan,
                GossipFanout = 0,
                ContentValidator = RkyvAssertionValidator.Instance,
            },
            new InMemoryAssertionStore());
        await _receiver.StartAsync();

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_receiver.Handler);
        builder.Services.AddSingleton<SyncServiceImpl>(); // stateless: one instance serves every call
        _app = builder.Build();
        _app.MapGrpcService<SyncServiceImpl>();
        _app.MapGrpcService<NoopServiceImpl>();
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        _peer = new GrpcSyncPeer(_channel);
        _noop = new NoopService.NoopServiceClient(_channel);
        _sender = NodeId.NewId();

        // Fresh assertions for every gossip call of every invocation (one invocation per warmup and iteration),
        // so every push stores something new.
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _pool = new AssertionRecord[CallsPerInvoke * (Warmups + Iterations + 2)];
        for (int i = 0; i < _pool.Length; i++)
        {
            var timestamp = new HlcTimestamp(now, (uint)i, _sender);
            string text = Convert.ToHexString(RandomNumberGenerator.GetBytes(TextBytes / 2));
            byte[] data = AssertionCodec.Encode(new Assertion("bench:subject", "bench:predicate", AssertionValue.FromText(text), timestamp, _sender));
            _pool[i] = new AssertionRecord(AssertionHash.Compute(data), data, timestamp);
        }

        // The no-op carries as many bytes as one gossiped assertion.
        _noopRequest = new NoopRequest { Payload = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(_pool[0].Data.Length)) };

        // Warm the connection.
        await _noop.CallAsync(_noopRequest);
    }

    /// <summary>Stops everything.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _peer.Dispose();
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    /// <summary>The baseline: a no-op unary RPC carrying the same payload size.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerInvoke)]
    public Task NoopUnary() => RunAsync(async _ => await _noop.CallAsync(_noopRequest));


    /// <summary>
    /// The baseline with the same per-call deadline as <see cref="GrpcSyncPeer"/> sends (10 s), to show what the deadline
    /// itself costs (a timer on each side of every call).
    /// </summary>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task NoopUnaryWithDeadline() =>
        RunAsync(async _ => await _noop.CallAsync(_noopRequest, deadline: DateTime.UtcNow + GrpcSyncPeerOptions.DefaultDeadline));

    /// <summary>v1 Gossip of a new assertion through <see cref="GrpcSyncPeer"/> (default options: 10 s deadline), verified and stored by the receiver.</summary>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task Gossip()
    {
        if (_poolNext + CallsPerInvoke > _pool.Length)
        {
            throw new InvalidOperationException("The pre-generated assertions are used up; raise the pool size.");
        }

        int start = _poolNext;
        _poolNext += CallsPerInvoke;
        return RunAsync(i => GossipOneAsync(_pool[start + i]));
    }

    private async Task GossipOneAsync(AssertionRecord record)
    {
        GossipResult result = await _peer.GossipAsync(record);
        if (!result.Accepted)
        {
            throw new InvalidOperationException($"Gossip was rejected: {result.Error}");
        }
    }

    private async Task RunAsync(Func<int, Task> call)
    {
        int next = -1;
        var workers = new Task[InFlight];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < CallsPerInvoke)
                {
                    await call(i);
                }
            });
        }

        await Task.WhenAll(workers);
    }

    /// <summary>The bench-only no-op service.</summary>
    public sealed class NoopServiceImpl : NoopService.NoopServiceBase
    {
        private static readonly Task<NoopResponse> Done = Task.FromResult(new NoopResponse());

        /// <inheritdoc />
        public override Task<NoopResponse> Call(NoopRequest request, ServerCallContext context) => Done;
    }
}

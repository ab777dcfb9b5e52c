using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// v1 gossip throughput between two nodes over loopback gRPC (HTTP/2 cleartext, Kestrel on 127.0.0.1), next to a bare
/// no-op unary RPC with a payload of the same size over the same kind of channel, at 1 and 64 calls in flight.
/// </summary>
/// <remarks>
/// The sender is <see cref="GrpcSyncPeer"/> (what a node uses to gossip); the receiver is a <see cref="SyncNode"/>
/// served by <see cref="SyncServiceImpl"/>, which verifies (drift, size, rkyv content, BLAKE3) and stores each assertion
/// (real rkyv <c>Assertion</c> archives of about 256 bytes; the no-op carries a payload of the same size); see
/// <see cref="GrpcGossipFixture"/>. Every gossiped assertion is new to the receiver. One invocation is
/// <see cref="CallsPerInvoke"/> calls; divide to get per-call time, and its inverse for calls per second. Run:
/// <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- --filter '*GrpcGossip*'</c>.
/// The three benchmarks run one after the other, so on a busy machine each sees different noise; for the ratio
/// gossip / no-op, <see cref="GossipRatioHarness"/> interleaves them (<c>-- gossip-ratio</c>).
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: Warmups, iterationCount: Iterations, invocationCount: 1)]
public class GrpcGossipBenchmarks
{
    /// <summary>Calls per benchmark invocation.</summary>
    public const int CallsPerInvoke = 4000;

    private const int Warmups = 3;
    private const int Iterations = 15;

    private GrpcGossipFixture _fixture = null!;
    private AssertionRecord[] _pool = [];
    private int _poolNext;

    /// <summary>Calls in flight at once.</summary>
    [Params(1, 64)]
    public int InFlight { get; set; }

    /// <summary>Starts the receiving node and its server, and the client channel.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _fixture = await GrpcGossipFixture.StartAsync();

        // Fresh assertions for every gossip call of every invocation (one invocation per warmup and iteration),
        // so every push stores something new.
        _pool = _fixture.CreateAssertions(CallsPerInvoke * (Warmups + Iterations + 2));
    }

    /// <summary>Stops everything.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync() => await _fixture.DisposeAsync();

    /// <summary>The baseline: a no-op unary RPC carrying the same payload size.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerInvoke)]
    public Task NoopUnary() => RunAsync(_ => _fixture.NoopAsync());

    /// <summary>
    /// The baseline with a 10 s gRPC deadline (what <see cref="GrpcSyncPeerOptions.Deadline"/> adds when it is set), to
    /// show what the deadline itself costs (a timer on each side of every call).
    /// </summary>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task NoopUnaryWithDeadline() => RunAsync(_ => _fixture.NoopWithDeadlineAsync());

    /// <summary>v1 Gossip of a new assertion through <see cref="GrpcSyncPeer"/> (default options: no gRPC deadline), verified and stored by the receiver.</summary>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task Gossip()
    {
        if (_poolNext + CallsPerInvoke > _pool.Length)
        {
            throw new InvalidOperationException("The pre-generated assertions are used up; raise the pool size.");
        }

        int start = _poolNext;
        _poolNext += CallsPerInvoke;
        return RunAsync(i => _fixture.GossipAsync(_pool[start + i]));
    }

    private Task RunAsync(Func<int, Task> call) => RunCallsAsync(CallsPerInvoke, InFlight, call);

    /// <summary>Makes <paramref name="calls"/> calls numbered from 0, at most <paramref name="inFlight"/> at once.</summary>
    /// <param name="calls">How many calls.</param>
    /// <param name="inFlight">How many concurrent callers.</param>
    /// <param name="call">One call, given its number.</param>
    /// <returns>A task that completes when every call has.</returns>
    internal static async Task RunCallsAsync(int calls, int inFlight, Func<int, Task> call)
    {
        int next = -1;
        var workers = new Task[inFlight];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < calls)
                {
                    await call(i);
                }
            });
        }

        await Task.WhenAll(workers);
    }
}

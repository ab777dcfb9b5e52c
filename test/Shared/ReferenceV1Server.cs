using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reference = Stemedb.Sync.V1;

namespace StemeDb.Sync.Grpc.Tests.V1Reference;

/// <summary>
/// A v1-only StemeDB node for tests, generated from the original contract alone: it stores hash and data (no HLC),
/// answers <c>AssertionData</c> with those two fields only, roots its leaves with a scheme of its own (SHA-256 over
/// the sorted leaves, so its root never matches a StemeDb.Sync node's), and knows no extension: ASP.NET Core answers
/// UNIMPLEMENTED to Reconcile and GossipBatch, and the GetLeaves cursor is an unknown field it ignores.
/// </summary>
internal sealed class ReferenceV1Server : Reference.SyncService.SyncServiceBase
{
    private const int MaxFetch = 1000;
    private const int LeavesCap = 10_000;

    private readonly ConcurrentDictionary<AssertionHash, byte[]> _store = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly byte[] _nodeId = NodeId.NewId().ToArray();

    public int Count => _store.Count;

    public IReadOnlyCollection<AssertionHash> Hashes => _store.Keys.ToArray();

    /// <summary>How many times each RPC was called.</summary>
    public int Calls(string rpc) => _calls.TryGetValue(rpc, out int n) ? n : 0;

    /// <summary>Stores a record directly (it is trusted: the tests make it).</summary>
    public void Put(AssertionRecord record) => _store.TryAdd(record.Hash, record.Data.ToArray());

    public override Task<Reference.GossipResponse> Gossip(Reference.GossipRequest request, ServerCallContext context)
    {
        CountCall(nameof(Gossip));
        if (!AssertionHash.TryCreate(request.AssertionHash.Span, out AssertionHash hash))
        {
            return Task.FromResult(new Reference.GossipResponse { Error = "assertion_hash must be 32 bytes" });
        }

        if (!hash.Matches(request.AssertionData.Span))
        {
            return Task.FromResult(new Reference.GossipResponse { Error = "hash mismatch" });
        }

        _store.TryAdd(hash, request.AssertionData.ToByteArray());
        return Task.FromResult(new Reference.GossipResponse { Accepted = true });
    }

    public override Task<Reference.RootExchangeResponse> ExchangeRoots(Reference.RootExchangeRequest request, ServerCallContext context)
    {
        CountCall(nameof(ExchangeRoots));
        byte[] root = Root();
        return Task.FromResult(new Reference.RootExchangeResponse
        {
            MerkleRoot = ByteString.CopyFrom(root),
            AssertionCount = (ulong)_store.Count,
            RootsMatch = request.MerkleRoot.Span.SequenceEqual(root),
        });
    }

    public override Task<Reference.FetchResponse> FetchAssertions(Reference.FetchRequest request, ServerCallContext context)
    {
        CountCall(nameof(FetchAssertions));
        if (request.Hashes.Count > MaxFetch)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "at most 1000 hashes"));
        }

        var response = new Reference.FetchResponse();
        foreach (ByteString bytes in request.Hashes)
        {
            if (!AssertionHash.TryCreate(bytes.Span, out AssertionHash hash))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "hashes are 32 bytes"));
            }

            if (_store.TryGetValue(hash, out byte[]? data))
            {
                response.Assertions.Add(new Reference.AssertionData { Hash = bytes, Data = ByteString.CopyFrom(data) });
            }
        }

        return Task.FromResult(response);
    }

    public override Task<Reference.PingResponse> Ping(Reference.PingRequest request, ServerCallContext context)
    {
        CountCall(nameof(Ping));
        return Task.FromResult(new Reference.PingResponse { NodeId = ByteString.CopyFrom(_nodeId), AssertionCount = (ulong)_store.Count });
    }

    public override Task<Reference.GetLeavesResponse> GetLeaves(Reference.GetLeavesRequest request, ServerCallContext context)
    {
        CountCall(nameof(GetLeaves));
        int cap = request.MaxLeaves == 0 || request.MaxLeaves > LeavesCap ? LeavesCap : (int)request.MaxLeaves;
        AssertionHash[] sorted = Sorted();
        var response = new Reference.GetLeavesResponse { Truncated = sorted.Length > cap };
        foreach (AssertionHash leaf in sorted.Take(cap))
        {
            response.Leaves.Add(ByteString.CopyFrom(leaf.ToArray()));
        }

        return Task.FromResult(response);
    }

    private void CountCall(string rpc) => _calls.AddOrUpdate(rpc, 1, static (_, n) => n + 1);

    private AssertionHash[] Sorted()
    {
        AssertionHash[] sorted = _store.Keys.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    private byte[] Root()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (AssertionHash leaf in Sorted())
        {
            sha.AppendData(leaf.ToArray());
        }

        return sha.GetHashAndReset();
    }
}

/// <summary>Serves a <see cref="ReferenceV1Server"/> over Kestrel on a loopback port (HTTP/2 cleartext).</summary>
internal sealed class ReferenceV1Host : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ReferenceV1Host(WebApplication app, ReferenceV1Server server, Uri address)
    {
        _app = app;
        Server = server;
        Address = address;
    }

    public ReferenceV1Server Server { get; }

    public Uri Address { get; }

    public static async Task<ReferenceV1Host> StartAsync()
    {
        var server = new ReferenceV1Server();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(server);
        WebApplication app = builder.Build();
        app.MapGrpcService<ReferenceV1Server>();
        await app.StartAsync();
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ReferenceV1Host(app, server, new Uri(bound));
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
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
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Two nodes over loopback gRPC, shared by <see cref="GrpcGossipBenchmarks"/> and <see cref="GossipRatioHarness"/>:
/// a receiving <see cref="SyncNode"/> (in-memory store, rkyv content validator) served by a singleton
/// <see cref="SyncServiceImpl"/> and the bench-only no-op service on Kestrel at 127.0.0.1 (HTTP/2 cleartext), and on the
/// sending side one <see cref="GrpcChannel"/> carrying both a <see cref="GrpcSyncPeer"/> (default options) and the
/// no-op client. A second server serves <see cref="SyncServiceImpl"/> over a handler that accepts every push without
/// looking at it (<see cref="AcceptingHandler"/>), reached by a second <see cref="GrpcSyncPeer"/> over its own channel
/// with the same options: the gossip path without the node's work, to tell the adapters' and the wire's cost from the
/// node's.
/// </summary>
internal sealed class GrpcGossipFixture : IAsyncDisposable
{
    private const int TextBytes = 160; // the encoded assertion is about 256 bytes

    private readonly WebApplication _app;
    private readonly SyncNode _receiver;
    private readonly GrpcChannel _channel;
    private readonly GrpcSyncPeer _peer;
    private readonly WebApplication _acceptingApp;
    private readonly GrpcChannel _acceptingChannel;
    private readonly GrpcSyncPeer _acceptingPeer;
    private readonly WebApplication _verifyingApp;
    private readonly GrpcChannel _verifyingChannel;
    private readonly GrpcSyncPeer _verifyingPeer;
    private readonly NoopService.NoopServiceClient _noop;
    private readonly NoopRequest _noopRequest;
    private readonly NodeId _sender = NodeId.NewId();
    private uint _nextCounter;

    private GrpcGossipFixture(
        WebApplication app,
        SyncNode receiver,
        GrpcChannel channel,
        (WebApplication App, GrpcChannel Channel) accepting,
        (WebApplication App, GrpcChannel Channel) verifying,
        int payloadBytes)
    {
        _app = app;
        _receiver = receiver;
        _channel = channel;
        _peer = new GrpcSyncPeer(channel);
        (_acceptingApp, _acceptingChannel) = accepting;
        _acceptingPeer = new GrpcSyncPeer(_acceptingChannel);
        (_verifyingApp, _verifyingChannel) = verifying;
        _verifyingPeer = new GrpcSyncPeer(_verifyingChannel);
        _noop = new NoopService.NoopServiceClient(channel);
        _noopRequest = new NoopRequest { Payload = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(payloadBytes)) };
    }

    /// <summary>The number of assertions the receiver holds.</summary>
    public long ReceiverCount => _receiver.Count;

    /// <summary>Starts the receiver, its server and the client channel, and warms the connection.</summary>
    /// <returns>The running fixture.</returns>
    public static async Task<GrpcGossipFixture> StartAsync()
    {
        var receiver = new SyncNode(
            new SyncNodeOptions
            {
                AntiEntropyInterval = Timeout.InfiniteTimeSpan,
                GossipFanout = 0,
                ContentValidator = RkyvAssertionValidator.Instance,
            },
            new InMemoryAssertionStore());
        await receiver.StartAsync();

        (WebApplication app, GrpcChannel channel) = await ServeAsync(receiver.Handler, withNoop: true);
        (WebApplication, GrpcChannel) accepting = await ServeAsync(new AcceptingHandler(), withNoop: false);
        (WebApplication, GrpcChannel) verifying = await ServeAsync(new VerifyingHandler(), withNoop: false);

        // The no-op carries as many bytes as one gossiped assertion.
        var fixture = new GrpcGossipFixture(app, receiver, channel, accepting, verifying, CreateRecord(NodeId.NewId(), 0).Data.Length);
        await fixture.NoopAsync(); // warm the connections
        await fixture.GossipToAcceptingHandlerAsync(CreateRecord(NodeId.NewId(), 0));
        await fixture.GossipToVerifyingHandlerAsync(CreateRecord(NodeId.NewId(), 0));
        return fixture;
    }

    /// <summary>v1 Gossip of <paramref name="record"/> through <see cref="GrpcSyncPeer"/> to the server whose handler accepts every push without looking at it.</summary>
    /// <param name="record">Any record.</param>
    /// <returns>The call.</returns>
    public Task GossipToAcceptingHandlerAsync(AssertionRecord record) => AcceptedAsync(_acceptingPeer, record);

    /// <summary>v1 Gossip of <paramref name="record"/> through <see cref="GrpcSyncPeer"/> to the server whose handler verifies every push as a node does and stores nothing.</summary>
    /// <param name="record">A valid record.</param>
    /// <returns>The call.</returns>
    public Task GossipToVerifyingHandlerAsync(AssertionRecord record) => AcceptedAsync(_verifyingPeer, record);

    /// <summary>Kestrel on 127.0.0.1 (HTTP/2 cleartext) serving <paramref name="handler"/> (and the no-op service when asked), and a channel to it.</summary>
    private static async Task<(WebApplication App, GrpcChannel Channel)> ServeAsync(ISyncRequestHandler handler, bool withNoop)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new SyncServer(handler));
        builder.Services.AddSingleton<SyncServiceImpl>(); // stateless: one instance serves every call
        builder.Services.AddSingleton<NoopServiceImpl>(); // likewise, so the baseline is as bare as it gets
        WebApplication app = builder.Build();
        app.MapGrpcService<SyncServiceImpl>();
        if (withNoop)
        {
            app.MapGrpcService<NoopServiceImpl>();
        }

        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        return (app, channel);
    }

    /// <summary>
    /// Creates new, valid rkyv assertions (about 256 bytes each) from the sending node, each one different from every
    /// assertion this fixture created before, so that every push stores something new.
    /// </summary>
    /// <param name="count">How many.</param>
    /// <returns>The records.</returns>
    public AssertionRecord[] CreateAssertions(int count)
    {
        var records = new AssertionRecord[count];
        for (int i = 0; i < records.Length; i++)
        {
            records[i] = CreateRecord(_sender, _nextCounter++);
        }

        return records;
    }

    /// <summary>A bare no-op unary call carrying a payload as large as one assertion, without a deadline.</summary>
    /// <returns>The call.</returns>
    public Task NoopAsync() => _noop.CallAsync(_noopRequest).ResponseAsync;

    /// <summary>The no-op call with a 10 s gRPC deadline, as <see cref="GrpcSyncPeer"/> sends when <see cref="GrpcSyncPeerOptions.Deadline"/> is set.</summary>
    /// <returns>The call.</returns>
    public Task NoopWithDeadlineAsync() =>
        _noop.CallAsync(_noopRequest, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10)).ResponseAsync;

    /// <summary>v1 Gossip of <paramref name="record"/> through <see cref="GrpcSyncPeer"/>; throws unless it is accepted.</summary>
    /// <param name="record">A record the receiver does not hold yet.</param>
    /// <returns>The call.</returns>
    public Task GossipAsync(AssertionRecord record) => AcceptedAsync(_peer, record);

    /// <summary>Gossips <paramref name="record"/> to <paramref name="peer"/>; throws unless it is accepted.</summary>
    private static async Task AcceptedAsync(GrpcSyncPeer peer, AssertionRecord record)
    {
        GossipResult result = await peer.GossipAsync(record);
        if (!result.Accepted)
        {
            throw new InvalidOperationException($"Gossip was rejected: {result.Error}");
        }
    }

    /// <summary>Stops everything.</summary>
    /// <returns>A task that completes when everything is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        _verifyingPeer.Dispose();
        _verifyingChannel.Dispose();
        await _verifyingApp.StopAsync();
        await _verifyingApp.DisposeAsync();
        _acceptingPeer.Dispose();
        _acceptingChannel.Dispose();
        await _acceptingApp.StopAsync();
        await _acceptingApp.DisposeAsync();
        _peer.Dispose();
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private static AssertionRecord CreateRecord(NodeId sender, uint counter)
    {
        var timestamp = new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), counter, sender);
        string text = Convert.ToHexString(RandomNumberGenerator.GetBytes(TextBytes / 2));
        byte[] data = AssertionCodec.Encode(new Assertion("bench:subject", "bench:predicate", AssertionValue.FromText(text), timestamp, sender));
        return new AssertionRecord(AssertionHash.Compute(data), data, timestamp);
    }

    /// <summary>A bench server's handler that answers pushes and serves nothing else.</summary>
    private abstract class PushOnlyHandler : ISyncRequestHandler
    {
        public abstract ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            throw Unimplemented();

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => throw Unimplemented();

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            throw Unimplemented();

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) => throw Unimplemented();

        private static SyncRequestException Unimplemented() => new(SyncStatusCode.Unimplemented, "This bench server only answers pushes.");
    }

    /// <summary>A handler that accepts every push without looking at it.</summary>
    private sealed class AcceptingHandler : PushOnlyHandler
    {
        public override ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) => new(GossipResult.Ok);
    }

    /// <summary>
    /// A handler that verifies every push as a node does before it stores one (the lengths, BLAKE3 of the bytes
    /// against the claimed hash, the rkyv validation), rejects one that fails, accepts the rest and stores nothing.
    /// </summary>
    private sealed class VerifyingHandler : PushOnlyHandler
    {
        public override ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default)
        {
            if (message.Hash.Length != AssertionHash.Length || (message.HlcNodeId.Length != 0 && message.HlcNodeId.Length != NodeId.Length))
            {
                return new(GossipResult.Rejected("Wrong lengths."));
            }

            if (AssertionHash.Compute(message.Data.Span) != new AssertionHash(message.Hash.Span))
            {
                return new(GossipResult.Rejected("The hash does not match the bytes."));
            }

            return new(RkyvAssertionValidator.Instance.TryValidate(message.Data.Span, out string? error) ? GossipResult.Ok : GossipResult.Rejected(error ?? "Not an assertion."));
        }
    }

    /// <summary>The bench-only no-op service.</summary>
    public sealed class NoopServiceImpl : NoopService.NoopServiceBase
    {
        private static readonly Task<NoopResponse> Done = Task.FromResult(new NoopResponse());

        /// <inheritdoc />
        public override Task<NoopResponse> Call(NoopRequest request, ServerCallContext context) => Done;
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.AspNetCore.Tests.Support;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.AspNetCore.Tests;

[TestFixture]
public sealed class MapStemeDbSyncTests
{
    private const string Token = "map-test-token-0123456789";

    [Test]
    [CancelAfter(60_000)]
    public async Task MapStemeDbSync_AfterAddStemeDbSync_ServesSyncAndHealth(CancellationToken cancellationToken)
    {
        await using WebApplication app = TestNodes.Build();
        app.MapStemeDbSync();
        await app.StartAsync(cancellationToken);
        Uri address = TestNodes.AddressOf(app);

        using GrpcSyncPeer peer = GrpcSyncPeer.Create(address);
        PingResult ping = await peer.PingAsync(NodeId.NewId(), cancellationToken);
        using GrpcChannel channel = GrpcChannel.ForAddress(address);
        HealthCheckResponse health = await new Health.HealthClient(channel)
            .CheckAsync(new HealthCheckRequest { Service = StemeDb.Sync.Hosting.StemeDbSyncHealth.ServiceName }, cancellationToken: cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(ping.NodeId, Is.EqualTo(app.Services.GetRequiredService<SyncNode>().NodeId));
            Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
            Assert.That(app.Services.GetRequiredService<PeerGuard>().TrackedPeerCount, Is.EqualTo(1), "the registered guard saw the call");
        });
        await app.StopAsync(cancellationToken);
    }

    [Test]
    public async Task MapStemeDbSync_HostSetNoMessageLimits_TheServiceGetsTheProtocolsLimits()
    {
        await using WebApplication app = TestNodes.Build();
        app.MapStemeDbSync();

        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Grpc.AspNetCore.Server.GrpcServiceOptions<SyncServiceImpl>>>().Value;

        Assert.That(options.MaxSendMessageSize, Is.EqualTo(SyncProtocol.MaxMessageBytes), "the send size was unlimited");
        Assert.That(options.MaxReceiveMessageSize, Is.EqualTo(SyncProtocol.MaxMessageBytes));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MapStemeDbSync_SubclassTakingTheServer_KeepsGuardAuthorizerAndLogging(CancellationToken cancellationToken)
    {
        var logs = new RecordingLoggerProvider();
        await using WebApplication app = TestNodes.Build(configure: services =>
        {
            services.AddSingleton<ISyncCallAuthorizer>(new BearerTokenAuthorizer(Token));
            services.AddSingleton<ILoggerProvider>(logs);
        });
        app.MapStemeDbSync<AuditingService>();
        await app.StartAsync(cancellationToken);
        Uri address = TestNodes.AddressOf(app);

        using GrpcSyncPeer anonymous = GrpcSyncPeer.Create(address);
        var refused = Assert.ThrowsAsync<SyncPeerException>(async () => await anonymous.PingAsync(NodeId.NewId(), cancellationToken));
        var withToken = new GrpcSyncPeerOptions();
        withToken.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(Token);
        using GrpcSyncPeer authorized = GrpcSyncPeer.Create(address, withToken);
        await authorized.PingAsync(NodeId.NewId(), cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated), "the registered authorizer ran");
            Assert.That(AuditingService.Audited, Does.Contain(SyncRpc.Ping), "the subclass's own hook ran after it");
            Assert.That(app.Services.GetRequiredService<PeerGuard>().TrackedPeerCount, Is.EqualTo(1), "the registered guard saw the calls");
            Assert.That(logs.Categories, Does.Contain(typeof(SyncServer).FullName), "the server logs through the host's logging");
        });
        await app.StopAsync(cancellationToken);
    }

    [Test]
    public async Task MapStemeDbSync_WithoutAddStemeDbSync_ThrowsNamingTheCall()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddGrpc();
        await using WebApplication app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.MapStemeDbSync());

        Assert.That(ex!.Message, Does.Contain("AddStemeDbSync"));
    }

    /// <summary>The obvious subclass: it takes the server from the container and passes it on.</summary>
    private sealed class AuditingService(SyncServer server) : SyncServiceImpl(server)
    {
        public static List<SyncRpc> Audited { get; } = [];

        protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context)
        {
            lock (Audited)
            {
                Audited.Add(rpc);
            }

            return default;
        }
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly HashSet<string> _categories = [];

        public IReadOnlyCollection<string> Categories
        {
            get
            {
                lock (_categories)
                {
                    return [.. _categories];
                }
            }
        }

        public ILogger CreateLogger(string categoryName)
        {
            lock (_categories)
            {
                _categories.Add(categoryName);
            }

            return Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        }

        public void Dispose()
        {
        }
    }
}

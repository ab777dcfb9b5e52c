using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Hosting.Tests;

[TestFixture]
[CancelAfter(20_000)]
public sealed class AddStemeDbSyncTests
{
    [Test]
    public async Task AddStemeDbSync_Defaults_RegistersNodeInMemoryStoreHandlerAndHealth()
    {
        var services = new ServiceCollection();

        services.AddStemeDbSync();
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<IAssertionStore>(), Is.InstanceOf<InMemoryAssertionStore>());
        SyncNode node = provider.GetRequiredService<SyncNode>();
        Assert.That(provider.GetRequiredService<ISyncRequestHandler>(), Is.SameAs(node.Handler));
        Assert.That(provider.GetRequiredService<HealthServiceImpl>(), Is.Not.Null);
        Assert.That(provider.GetServices<IHostedService>().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task AddStemeDbSync_NothingElseRegistered_ServerHasTheNodesHandlerAndADefaultGuard()
    {
        var services = new ServiceCollection();

        services.AddStemeDbSync();
        await using ServiceProvider provider = services.BuildServiceProvider();

        SyncServer server = provider.GetRequiredService<SyncServer>();
        Assert.Multiple(() =>
        {
            Assert.That(server.Handler, Is.SameAs(provider.GetRequiredService<SyncNode>().Handler));
            Assert.That(server.Guard, Is.Not.Null.And.SameAs(provider.GetRequiredService<PeerGuard>()));
            Assert.That(server.Authorizer, Is.Null);
        });
    }

    [Test]
    public async Task AddStemeDbSync_HostRegisteredGuardAndAuthorizer_ServerAndTheActivatedServiceUseThem()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 0 });
        var authorizer = new BearerTokenAuthorizer("a-secret-of-16-bytes-or-more");
        var services = new ServiceCollection();
        services.AddSingleton(guard);
        services.AddSingleton<ISyncCallAuthorizer>(authorizer);

        services.AddStemeDbSync();
        await using ServiceProvider provider = services.BuildServiceProvider();
        // The way ASP.NET Core's gRPC activator creates a service that is not registered itself.
        var service = (ExposingService)ActivatorUtilities.CreateFactory(typeof(ExposingService), Type.EmptyTypes)(provider, null);

        Assert.Multiple(() =>
        {
            Assert.That(service.ServedBy.Guard, Is.SameAs(guard));
            Assert.That(service.ServedBy.Authorizer, Is.SameAs(authorizer));
        });
    }

    [Test]
    public async Task AddStemeDbSync_CalledTwice_RegistersOneNodeAndOneHostedService()
    {
        var services = new ServiceCollection();

        services.AddStemeDbSync();
        services.AddStemeDbSync();
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.That(provider.GetServices<IHostedService>().Count(), Is.EqualTo(1));
        Assert.That(provider.GetServices<SyncNode>().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task Host_StartAndStop_RunsTheNodeAndReportsHealth(CancellationToken cancellationToken)
    {
        using IHost host = BuildHost(services => services.AddStemeDbSync().ConfigureNode(o => o.NodeId = NodeId.Parse("0123456789abcdef0123456789abcdef")));
        HealthServiceImpl health = host.Services.GetRequiredService<HealthServiceImpl>();
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        Assert.That(await StatusAsync(health, StemeDbSyncHealth.ServiceName), Is.EqualTo(HealthCheckResponse.Types.ServingStatus.NotServing));
        await host.StartAsync(cancellationToken);
        IngestResult ingested = await node.IngestAsync(TestAssertions.Encode("user:1"), cancellationToken);
        HealthCheckResponse.Types.ServingStatus running = await StatusAsync(health, StemeDbSyncHealth.ServiceName);
        HealthCheckResponse.Types.ServingStatus overall = await StatusAsync(health, string.Empty);
        await host.StopAsync(cancellationToken);

        Assert.That(node.NodeId, Is.EqualTo(NodeId.Parse("0123456789abcdef0123456789abcdef")));
        Assert.That(ingested.Added, Is.True);
        Assert.That(running, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
        Assert.That(overall, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
        Assert.That(await StatusAsync(health, StemeDbSyncHealth.ServiceName), Is.EqualTo(HealthCheckResponse.Types.ServingStatus.NotServing));
        Assert.That(async () => await node.IngestAsync(TestAssertions.Encode("user:2"), cancellationToken), Throws.InvalidOperationException);
    }

    [Test]
    public void Host_InvalidPeers_FailsToStartListingEveryPeer(CancellationToken cancellationToken)
    {
        using IHost host = BuildHost(services => services.AddStemeDbSync(o =>
        {
            o.Peers.Add("ftp://example");
            o.Peers.Add("http://10.0.0.1:5000");
            o.Peers.Add("http://10.0.0.1:5000/");
        }));

        OptionsValidationException? ex = Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync(cancellationToken));

        Assert.That(ex!.Failures, Has.Some.Contains("StemeDbSync:Peers[0]: 'ftp://example' is not an absolute http:// or https:// address"));
        Assert.That(ex.Failures, Has.Some.Contains("StemeDbSync:Peers[2]: 'http://10.0.0.1:5000/' is listed more than once"));
    }

    [Test]
    public void Host_InvalidEngineSettingInCode_FailsToStartNamingIt(CancellationToken cancellationToken)
    {
        using IHost host = BuildHost(services => services.AddStemeDbSync().ConfigureNode(o => o.GossipFanout = -1));

        OptionsValidationException? ex = Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync(cancellationToken));

        Assert.That(ex!.OptionsType, Is.EqualTo(typeof(SyncNodeOptions)));
        Assert.That(ex.Failures, Has.Some.StartsWith("StemeDbSync:GossipFanout: SyncNodeOptions.GossipFanout must be between 0 and 1000; got -1."));
    }

    [TestCase("GossipFanout", "2000", "must be between 0 and 1000")]
    [TestCase("PeerCallTimeout", "00:00:00", "must be positive")]
    [TestCase("AntiEntropyInterval", "-00:00:01", "must be positive")]
    [TestCase("AntiEntropyJitter", "00:01:00", "must not exceed AntiEntropyInterval")]
    [TestCase("FetchBatchSize", "5000", "must be between 1 and 1000")]
    [TestCase("NodeId", "00000000000000000000000000000000", "must not be the empty")]
    public void Host_BadValueInConfiguration_FailsToStartNamingTheSetting(string key, string value, string problem)
    {
        IConfiguration configuration = Configuration(new Dictionary<string, string?> { ["StemeDbSync:" + key] = value });
        using IHost host = BuildHost(services => services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName)));

        OptionsValidationException? ex = Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync(CancellationToken.None));

        Assert.That(ex!.Failures, Has.Some.StartsWith($"StemeDbSync:{key}: ").And.Some.Contains(problem));
    }

    [TestCase("NodeId", "not-a-node-id")]
    [TestCase("GossipFanout", "three")]
    [TestCase("PeerCallTimeout", "soon")]
    public void Host_UnreadableValueInConfiguration_FailsToStartNamingTheSetting(string key, string value)
    {
        IConfiguration configuration = Configuration(new Dictionary<string, string?> { ["StemeDbSync:" + key] = value });
        using IHost host = BuildHost(services => services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName)));

        var ex = Assert.ThrowsAsync<InvalidOperationException>(async () => await host.StartAsync(CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain($"StemeDbSync:{key}"));
    }

    [Test]
    public async Task AddStemeDbSync_NothingConfigured_EngineSettingsAreTheCoreDefaults()
    {
        var services = new ServiceCollection();

        services.AddStemeDbSync();
        await using ServiceProvider provider = services.BuildServiceProvider();
        SyncNodeOptions hosted = provider.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        var core = new SyncNodeOptions();
        foreach (PropertyInfo property in typeof(SyncNodeOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.Name != nameof(SyncNodeOptions.NodeId))
            {
                Assert.That(property.GetValue(hosted), Is.EqualTo(property.GetValue(core)), property.Name);
            }
        }

        Assert.That(hosted.NodeId, Is.Not.EqualTo(NodeId.Empty), "a fresh random id");
    }

    [Test]
    public async Task AddStemeDbSync_FromConfiguration_BindsEveryEngineSetting()
    {
        IConfiguration configuration = Configuration(new Dictionary<string, string?>
        {
            ["StemeDbSync:NodeId"] = "0123456789abcdef0123456789abcdef",
            ["StemeDbSync:MaxClockDrift"] = "00:00:02",
            ["StemeDbSync:MaxAssertionBytes"] = "4096",
            ["StemeDbSync:GossipFanout"] = "7",
            ["StemeDbSync:GossipQueueCapacity"] = "123",
            ["StemeDbSync:GossipConcurrency"] = "9",
            ["StemeDbSync:GossipMaxAttempts"] = "11",
            ["StemeDbSync:GossipRetryBaseDelay"] = "00:00:00.250",
            ["StemeDbSync:GossipRetryMaxDelay"] = "00:00:08",
            ["StemeDbSync:AntiEntropyInterval"] = "00:02:00",
            ["StemeDbSync:AntiEntropyJitter"] = "00:00:13",
            ["StemeDbSync:FetchBatchSize"] = "321",
            ["StemeDbSync:MaxLeavesPerRequest"] = "4321",
            ["StemeDbSync:PeerCallTimeout"] = "00:00:42",
            ["StemeDbSync:ReconcileSymbols"] = "false",
            ["StemeDbSync:MaxAnswerBytes"] = "1048576",
            ["StemeDbSync:MaxStreamPullDuration"] = "00:03:00",
        });
        var services = new ServiceCollection();

        services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName));
        await using ServiceProvider provider = services.BuildServiceProvider();
        SyncNodeOptions options = provider.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        Assert.Multiple(() =>
        {
            Assert.That(options.NodeId, Is.EqualTo(NodeId.Parse("0123456789abcdef0123456789abcdef")));
            Assert.That(options.MaxClockDrift, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(options.MaxAssertionBytes, Is.EqualTo(4096));
            Assert.That(options.GossipFanout, Is.EqualTo(7));
            Assert.That(options.GossipQueueCapacity, Is.EqualTo(123));
            Assert.That(options.GossipConcurrency, Is.EqualTo(9));
            Assert.That(options.GossipMaxAttempts, Is.EqualTo(11));
            Assert.That(options.GossipRetryBaseDelay, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
            Assert.That(options.GossipRetryMaxDelay, Is.EqualTo(TimeSpan.FromSeconds(8)));
            Assert.That(options.AntiEntropyInterval, Is.EqualTo(TimeSpan.FromMinutes(2)));
            Assert.That(options.AntiEntropyJitter, Is.EqualTo(TimeSpan.FromSeconds(13)));
            Assert.That(options.FetchBatchSize, Is.EqualTo(321));
            Assert.That(options.MaxLeavesPerRequest, Is.EqualTo(4321));
            Assert.That(options.PeerCallTimeout, Is.EqualTo(TimeSpan.FromSeconds(42)));
            Assert.That(options.ReconcileSymbols, Is.False);
            Assert.That(options.MaxAnswerBytes, Is.EqualTo(1024 * 1024));
            Assert.That(options.MaxStreamPullDuration, Is.EqualTo(TimeSpan.FromMinutes(3)));
        });

        // Every bindable engine setting is covered above: a new one must be added to this test.
        string[] bindable = typeof(SyncNodeOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.Name != nameof(SyncNodeOptions.ContentValidator))
            .Select(p => "StemeDbSync:" + p.Name)
            .ToArray();
        Assert.That(configuration.AsEnumerable().Where(kv => kv.Value is not null).Select(kv => kv.Key), Is.EquivalentTo(bindable));
    }

    [Test]
    public async Task ConfigureNode_AfterConfiguration_Wins()
    {
        IConfiguration configuration = Configuration(new Dictionary<string, string?> { ["StemeDbSync:GossipFanout"] = "7", ["StemeDbSync:PeerCallTimeout"] = "00:00:42" });
        var services = new ServiceCollection();

        services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName)).ConfigureNode(o => o.GossipFanout = 9);
        await using ServiceProvider provider = services.BuildServiceProvider();
        SyncNodeOptions options = provider.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        Assert.That(options.GossipFanout, Is.EqualTo(9));
        Assert.That(options.PeerCallTimeout, Is.EqualTo(TimeSpan.FromSeconds(42)));
    }

    [Test]
    public async Task AddStemeDbSync_FromConfiguration_BindsNodeIdPeersAndInterval(CancellationToken cancellationToken)
    {
        IConfiguration configuration = Configuration(new Dictionary<string, string?>
        {
            ["StemeDbSync:NodeId"] = "0f8fad5b-d9cb-469f-a165-70867728950e",
            ["StemeDbSync:Peers:0"] = "http://127.0.0.1:1",
            ["StemeDbSync:Peers:1"] = "http://127.0.0.1:2",
            ["StemeDbSync:AntiEntropyInterval"] = "01:00:00",
        });
        using IHost host = BuildHost(services => services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName)));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        await host.StartAsync(cancellationToken);
        string[] peers = node.Peers.Select(p => p.Name).ToArray();
        await host.StopAsync(cancellationToken);

        Assert.That(node.NodeId, Is.EqualTo(NodeId.Parse("0f8fad5b-d9cb-469f-a165-70867728950e")));
        Assert.That(peers, Has.Length.EqualTo(2));
        Assert.That(peers[0], Does.Contain("127.0.0.1:1"));
        Assert.That(peers[1], Does.Contain("127.0.0.1:2"));
        Assert.That(node.Peers, Is.Empty, "peers are removed and disposed when the host stops");
        SyncNodeOptions options = host.Services.GetRequiredService<IOptions<SyncNodeOptions>>().Value;
        Assert.That(options.AntiEntropyInterval, Is.EqualTo(TimeSpan.FromHours(1)));
        Assert.That(options.AntiEntropyJitter, Is.Null, "the core derives the jitter from the interval");
    }

    [Test]
    public async Task UseStore_HostStore_ReceivesIngestedAssertions(CancellationToken cancellationToken)
    {
        var store = new InMemoryAssertionStore();
        byte[] stored = TestAssertions.Encode("user:stored");
        AssertionRecord existing = new(AssertionHash.Compute(stored), stored, default);
        await store.PutAsync(existing, cancellationToken);
        using IHost host = BuildHost(services => services.AddStemeDbSync().UseStore(_ => store));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        await host.StartAsync(cancellationToken);
        IngestResult result = await node.IngestAsync(TestAssertions.Encode("user:new"), cancellationToken);
        await host.StopAsync(cancellationToken);

        Assert.That(await store.ContainsAsync(result.Hash, cancellationToken), Is.True);
        Assert.That(node.Count, Is.EqualTo(2), "the index is rebuilt from the host's store at start-up");
    }

    [Test]
    public async Task ConfigureNode_HostAdjustment_RunsAfterTheOptionsAndIsEnforced(CancellationToken cancellationToken)
    {
        using IHost host = BuildHost(services => services
            .AddStemeDbSync()
            .ConfigureNode(o => o.GossipFanout = 5)
            .ConfigureNode(o => o.MaxAssertionBytes = 64));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();
        SyncNodeOptions options = host.Services.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        await host.StartAsync(cancellationToken);

        Assert.That(options.GossipFanout, Is.EqualTo(5));
        byte[] large = TestAssertions.Encode("user:" + new string('x', 100));
        Assert.That(options.MaxAssertionBytes, Is.EqualTo(64));
        Assert.That(
            async () => await node.IngestAsync(large, cancellationToken),
            Throws.TypeOf<AssertionRejectedException>().With.Message.Contains("at most 64 bytes"));
        await host.StopAsync(cancellationToken);
    }

    [Test]
    public async Task ConfigurePeers_Credentials_EveryCallToTheConfiguredPeerCarriesThem(CancellationToken cancellationToken)
    {
        var seen = new List<(Uri Address, string? Token)>();
        var configured = new List<Uri>();
        using IHost host = BuildHost(services => services
            .AddStemeDbSync(o => o.Peers.Add("http://127.0.0.1:1"))
            .ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan)
            .ConfigurePeers((address, peer) =>
            {
                configured.Add(address);
                peer.HttpHandler = new BearerHandler("peer-secret") { InnerHandler = new RecordingHandler(seen) };
            })
            .ConfigurePeers((_, peer) => peer.MaxReceiveMessageSize = 1 << 20));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        await host.StartAsync(cancellationToken);
        ISyncPeer peer = node.Peers.Single();
        Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(node.NodeId, cancellationToken));
        await host.StopAsync(cancellationToken);

        Assert.That(configured, Is.EqualTo(new[] { new Uri("http://127.0.0.1:1") }));
        Assert.That(seen, Is.Not.Empty);
        Assert.That(seen.Select(s => s.Token), Is.All.EqualTo("Bearer peer-secret"));
        Assert.That(seen.Select(s => s.Address.Port), Is.All.EqualTo(1));
    }

    [Test]
    public void ConfigurePeers_Null_Throws()
    {
        StemeDbSyncBuilder builder = new ServiceCollection().AddStemeDbSync();

        Assert.Throws<ArgumentNullException>(() => builder.ConfigurePeers(null!));
    }

    [Test]
    public void UseStore_NullFactory_Throws()
    {
        StemeDbSyncBuilder builder = new ServiceCollection().AddStemeDbSync();

        Assert.Throws<ArgumentNullException>(() => builder.UseStore((Func<IServiceProvider, IAssertionStore>)null!));
        Assert.Throws<ArgumentNullException>(() => builder.ConfigureNode(null!));
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static IHost BuildHost(Action<IServiceCollection> configure)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder.Services);
        return builder.Build();
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> StatusAsync(HealthServiceImpl health, string service)
    {
        HealthCheckResponse response = await health.Check(new HealthCheckRequest { Service = service }, null!);
        return response.Status;
    }

    /// <summary>What a host adds to its peers' calls: a bearer token.</summary>
    private sealed class BearerHandler(string token) : System.Net.Http.DelegatingHandler
    {
        protected override Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Stands in for the network: records each request as it would leave, and answers 503 (no server is needed).</summary>
    private sealed class RecordingHandler(List<(Uri Address, string? Token)> seen) : System.Net.Http.HttpMessageHandler
    {
        protected override Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (seen)
            {
                seen.Add((request.RequestUri!, request.Headers.Authorization?.ToString()));
            }

            return Task.FromResult(new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable) { Version = new Version(2, 0) });
        }
    }

    /// <summary>The obvious subclass: it takes the server from the container and passes it on.</summary>
    private sealed class ExposingService(SyncServer server) : SyncServiceImpl(server)
    {
        public SyncServer ServedBy => Server;
    }
}

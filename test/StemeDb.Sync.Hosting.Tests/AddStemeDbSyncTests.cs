using System;
using System.Collections.Generic;
using System.Linq;
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
        using IHost host = BuildHost(services => services.AddStemeDbSync(o => o.NodeId = "0123456789abcdef0123456789abcdef"));
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
    public void Host_InvalidOptions_FailsToStartListingEverySetting(CancellationToken cancellationToken)
    {
        using IHost host = BuildHost(services => services.AddStemeDbSync(o =>
        {
            o.NodeId = "not-an-id";
            o.Peers.Add("ftp://example");
            o.Peers.Add("http://10.0.0.1:5000");
            o.Peers.Add("http://10.0.0.1:5000/");
            o.AntiEntropyInterval = TimeSpan.FromMilliseconds(1);
            o.GossipFanout = -1;
        }));

        OptionsValidationException? ex = Assert.ThrowsAsync<OptionsValidationException>(async () => await host.StartAsync(cancellationToken));

        Assert.That(ex!.Failures, Has.Some.Contains("StemeDbSync:NodeId: 'not-an-id'"));
        Assert.That(ex.Failures, Has.Some.Contains("StemeDbSync:Peers[0]: 'ftp://example' is not an absolute http:// or https:// address"));
        Assert.That(ex.Failures, Has.Some.Contains("StemeDbSync:Peers[2]: 'http://10.0.0.1:5000/' is listed more than once"));
        Assert.That(ex.Failures, Has.Some.Contains("StemeDbSync:AntiEntropyInterval"));
        Assert.That(ex.Failures, Has.Some.Contains("StemeDbSync:GossipFanout"));
    }

    [Test]
    public async Task AddStemeDbSync_FromConfiguration_BindsNodeIdPeersAndInterval(CancellationToken cancellationToken)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StemeDbSync:NodeId"] = "0f8fad5b-d9cb-469f-a165-70867728950e",
            ["StemeDbSync:Peers:0"] = "http://127.0.0.1:1",
            ["StemeDbSync:Peers:1"] = "http://127.0.0.1:2",
            ["StemeDbSync:AntiEntropyInterval"] = "01:00:00",
        }).Build();
        using IHost host = BuildHost(services => services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName)));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();

        await host.StartAsync(cancellationToken);
        string[] peers = node.Peers.Select(p => p.Name).ToArray();
        await host.StopAsync(cancellationToken);

        Assert.That(node.NodeId, Is.EqualTo(NodeId.FromGuid(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"))));
        Assert.That(peers, Has.Length.EqualTo(2));
        Assert.That(peers[0], Does.Contain("127.0.0.1:1"));
        Assert.That(peers[1], Does.Contain("127.0.0.1:2"));
        Assert.That(node.Peers, Is.Empty, "peers are removed and disposed when the host stops");
        Assert.That(host.Services.GetRequiredService<IOptions<SyncNodeOptions>>().Value.AntiEntropyInterval, Is.EqualTo(TimeSpan.FromHours(1)));
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
            .AddStemeDbSync(o => o.GossipFanout = 5)
            .ConfigureNode(o => o.MaxAssertionBytes = 64));
        SyncNode node = host.Services.GetRequiredService<SyncNode>();
        SyncNodeOptions options = host.Services.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        await host.StartAsync(cancellationToken);

        Assert.That(options.GossipFanout, Is.EqualTo(5));
        byte[] large = TestAssertions.Encode("user:" + new string('x', 100));
        Assert.That(options.MaxAssertionBytes, Is.EqualTo(64));
        Assert.That(
            async () => await node.IngestAsync(large, cancellationToken),
            Throws.ArgumentException.With.Message.Contains("at most 64 bytes"));
        await host.StopAsync(cancellationToken);
    }

    [Test]
    public void UseStore_NullFactory_Throws()
    {
        StemeDbSyncBuilder builder = new ServiceCollection().AddStemeDbSync();

        Assert.Throws<ArgumentNullException>(() => builder.UseStore((Func<IServiceProvider, IAssertionStore>)null!));
        Assert.Throws<ArgumentNullException>(() => builder.ConfigureNode(null!));
    }

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
}

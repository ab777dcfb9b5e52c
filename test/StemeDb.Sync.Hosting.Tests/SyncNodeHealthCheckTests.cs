using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using Moq;
using StemeDb.Sync.Hosting.Internal;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>The ASP.NET Core health check of a node's sync (<c>AddHealthChecks().AddStemeDbSync()</c>), on fake time.</summary>
[TestFixture]
public sealed class SyncNodeHealthCheckTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    [Test]
    public async Task Check_NoPeers_Healthy()
    {
        await using SyncNode node = await StartedAsync(new FakeTimeProvider(Start));

        HealthCheckResult result = await new SyncNodeHealthCheck(node, TimeSpan.FromMinutes(5)).CheckHealthAsync(new HealthCheckContext());

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public async Task Check_EveryPeerUnreachable_Degraded()
    {
        var time = new FakeTimeProvider(Start);
        await using SyncNode node = await StartedAsync(time);
        ISyncPeer peer = Failing("down", SyncStatusCode.Unavailable);
        node.AddPeer(peer);
        Assert.ThrowsAsync<SyncPeerException>(async () => await node.SyncWithPeerAsync(peer));

        HealthCheckResult result = await new SyncNodeHealthCheck(node, TimeSpan.FromMinutes(5)).CheckHealthAsync(new HealthCheckContext());

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(result.Description, Does.Contain("No peer is reachable"));
        Assert.That(result.Data["down"], Is.EqualTo("Unreachable, missing 0"));
    }

    [Test]
    public async Task Check_APeerOutOfSyncLongerThanTheLimit_DegradedUntilItIsInSyncAgain()
    {
        var time = new FakeTimeProvider(Start);
        await using SyncNode node = await StartedAsync(time);
        await using SyncNode other = await StartedAsync(time);
        var network = new InMemoryNetwork();
        network.SetEndpoint("other", other.Handler);
        ISyncPeer good = network.CreatePeer("node", "other");
        ISyncPeer refusing = Failing("refusing", SyncStatusCode.PermissionDenied);
        node.AddPeer(good);
        node.AddPeer(refusing);
        await node.SyncWithPeerAsync(good);
        Assert.ThrowsAsync<SyncPeerException>(async () => await node.SyncWithPeerAsync(refusing));
        var check = new SyncNodeHealthCheck(node, TimeSpan.FromMinutes(5));

        HealthCheckResult first = await check.CheckHealthAsync(new HealthCheckContext());
        time.Advance(TimeSpan.FromMinutes(4));
        HealthCheckResult withinLimit = await check.CheckHealthAsync(new HealthCheckContext());
        time.Advance(TimeSpan.FromMinutes(2));
        HealthCheckResult beyond = await check.CheckHealthAsync(new HealthCheckContext());
        node.RemovePeer(refusing);
        HealthCheckResult removed = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.That(first.Status, Is.EqualTo(HealthStatus.Healthy), "one peer is reachable and the other just went out of sync");
        Assert.That(withinLimit.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(beyond.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(beyond.Description, Does.Contain("refusing").And.Contain("360 s"));
        Assert.That(removed.Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public async Task AddStemeDbSync_RegistersTheCheckOverTheNodeOfTheContainer()
    {
        var time = new FakeTimeProvider(Start);
        await using SyncNode node = await StartedAsync(time);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(node);
        services.AddHealthChecks().AddStemeDbSync(TimeSpan.FromSeconds(30));
        await using ServiceProvider provider = services.BuildServiceProvider();

        HealthReport report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.That(report.Entries.Keys, Is.EquivalentTo(new[] { "stemedb-sync" }));
        Assert.That(report.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddHealthChecks().AddStemeDbSync(TimeSpan.Zero));
    }

    private static async Task<SyncNode> StartedAsync(TimeProvider time)
    {
        var options = new SyncNodeOptions
        {
            NodeId = NodeId.NewId(),
            ContentValidator = AcceptAllContentValidator.Instance,
            AntiEntropyInterval = Timeout.InfiniteTimeSpan,
        };
        var node = new SyncNode(options, new InMemoryAssertionStore(), timeProvider: time);
        await node.StartAsync();
        return node;
    }

    private static ISyncPeer Failing(string name, SyncStatusCode code)
    {
        var peer = new Mock<ISyncPeer>();
        peer.SetupGet(p => p.Name).Returns(name);
        peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .Returns(ValueTask.FromException<RootExchangeResult>(new SyncPeerException(code, "no")));
        return peer.Object;
    }
}

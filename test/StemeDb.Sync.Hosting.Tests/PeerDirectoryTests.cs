using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StemeDb.Sync.Hosting.Internal;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>
/// The peers of a hosted node, from configuration that is reloaded and from DNS names that do not resolve, on a
/// generic host: following them needs no server (the ASP.NET Core tests cover discovery among served nodes).
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class PeerDirectoryTests
{
    [Test]
    public async Task PeerDns_SrvLookupFails_AddsNoPeerAndTheNodeRuns(CancellationToken cancellationToken)
    {
        var resolver = new FakePeerNameResolver();
        IConfigurationRoot configuration = Configuration(new() { ["StemeDbSync:PeerDns:0"] = "_grpc._tcp.missing.nodes.test" });
        using IHost host = BuildHost(configuration, services => services.AddSingleton<IPeerNameResolver>(resolver));
        await host.StartAsync(cancellationToken);
        PeerDirectory directory = DirectoryOf(host);

        await directory.RefreshAsync(cancellationToken);
        string[] addresses = [.. directory.Addresses];
        IngestResult ingested = await host.Services.GetRequiredService<SyncNode>().IngestAsync(TestAssertions.Encode("user:1"), cancellationToken);
        await host.StopAsync(cancellationToken);

        Assert.That(addresses, Is.Empty);
        Assert.That(ingested.Added, Is.True, "the node runs");
        Assert.That(resolver.ServiceLookups, Is.GreaterThanOrEqualTo(2), "once at start, once more on refresh");
    }

    [Test]
    public async Task Peers_ConfigurationReloaded_PeersAreAddedAndRemovedWhileTheNodeRuns(CancellationToken cancellationToken)
    {
        IConfigurationRoot configuration = Configuration([]);
        using IHost host = BuildHost(configuration);
        await host.StartAsync(cancellationToken);
        PeerDirectory directory = DirectoryOf(host);
        SyncNode node = host.Services.GetRequiredService<SyncNode>();
        const string PeerB = "http://127.0.0.2:5001";
        const string PeerC = "http://127.0.0.3:5001";

        configuration["StemeDbSync:Peers:0"] = PeerB;
        configuration.Reload();
        await UntilAsync(() => directory.Addresses.SequenceEqual([PeerB]), cancellationToken);
        configuration["StemeDbSync:Peers:0"] = PeerC;
        configuration.Reload();
        await UntilAsync(() => directory.Addresses.SequenceEqual([PeerC]), cancellationToken);
        configuration["StemeDbSync:Peers:0"] = "not a url";
        configuration.Reload(); // invalid: logged and ignored, the host keeps running with the peers it had
        await directory.RefreshAsync(cancellationToken);
        string[] addresses = [.. directory.Addresses];
        string[] peers = [.. node.Peers.Select(p => p.Name)];
        await host.StopAsync(cancellationToken);

        Assert.That(addresses, Is.EqualTo(new[] { PeerC }));
        Assert.That(peers, Is.EqualTo(new[] { new Uri(PeerC).Authority }));
    }

    private static IConfigurationRoot Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static IHost BuildHost(IConfiguration configuration, Action<IServiceCollection>? configure = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure?.Invoke(builder.Services);
        builder.Services.AddStemeDbSync(configuration.GetSection(StemeDbSyncOptions.SectionName))
            .ConfigureNode(o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        return builder.Build();
    }

    private static PeerDirectory DirectoryOf(IHost host) =>
        host.Services.GetServices<IHostedService>().OfType<StemeDbSyncHostedService>().Single().Peers;

    /// <summary>Polls until the directory has followed a reload (it does so on a background loop).</summary>
    private static async Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}

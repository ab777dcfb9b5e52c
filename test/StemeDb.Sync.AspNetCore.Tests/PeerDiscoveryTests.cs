using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StemeDb.Sync.AspNetCore.Tests.Support;
using StemeDb.Sync.Hosting.Internal;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.AspNetCore.Tests;

/// <summary>
/// Peers found by DNS and from reloaded configuration, with real nodes on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (one
/// port, as the pods of a headless service; or on 127.0.0.1 with a port each, as SRV targets) and a fake resolver whose
/// records the test changes.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PeerDiscoveryTests
{
    private const string Name = "stemedb.nodes.test";

    [Test]
    [CancelAfter(60_000)]
    public async Task PeerDns_RecordsIncludeThisNode_PeersWithTheOthersAndFollowsRecordChanges(CancellationToken cancellationToken)
    {
        int port = FreePort();
        var resolver = new FakePeerNameResolver();
        resolver.Set(Name, "127.0.0.1", "127.0.0.2", "127.0.0.3");
        await using WebApplication b = await TestNodes.StartAsync(cancellationToken, address: IPAddress.Parse("127.0.0.2"), port: port);
        await using WebApplication c = await TestNodes.StartAsync(cancellationToken, address: IPAddress.Parse("127.0.0.3"), port: port);
        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, new() { ["StemeDbSync:PeerDns:0"] = $"{Name}:{port}" }, configure: services => services.AddSingleton<IPeerNameResolver>(resolver), address: IPAddress.Loopback, port: port);
        PeerDirectory directory = DirectoryOf(a);

        string[] atStart = [.. directory.Addresses.Order()];
        resolver.Set(Name, "127.0.0.1", "127.0.0.2");
        await directory.RefreshAsync(cancellationToken);
        string[] afterC = [.. directory.Addresses];
        resolver.Set(Name, "127.0.0.1", "127.0.0.2", "127.0.0.3");
        await directory.RefreshAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(atStart, Is.EqualTo(new[] { $"http://127.0.0.2:{port}", $"http://127.0.0.3:{port}" }), "never itself");
            Assert.That(afterC, Is.EqualTo(new[] { $"http://127.0.0.2:{port}" }), "a record that disappears removes its peer");
            Assert.That(directory.Addresses, Has.Count.EqualTo(2), "and one that comes back adds it again");
            Assert.That(a.Services.GetRequiredService<SyncNode>().Peers, Has.Count.EqualTo(2));
            Assert.That(resolver.Lookups, Is.GreaterThanOrEqualTo(3));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PeerDns_SrvRecords_PeersWithTheLowestPriorityTargetsButItselfAndFollowsRecordChanges(CancellationToken cancellationToken)
    {
        const string Service = "_grpc._tcp.stemedb.nodes.test";
        int portA = FreePort();
        int portB = FreePort();
        int portC = FreePort();
        var resolver = new FakePeerNameResolver();
        resolver.Set("a.nodes.test", "127.0.0.1");
        resolver.Set("b.nodes.test", "127.0.0.1");
        resolver.Set("c.nodes.test", "127.0.0.1");
        resolver.SetService(Service, new(0, 10, (ushort)portA, "a.nodes.test"), new(0, 10, (ushort)portB, "b.nodes.test"), new(1, 10, (ushort)portC, "c.nodes.test"));
        await using WebApplication b = await TestNodes.StartAsync(cancellationToken, address: IPAddress.Loopback, port: portB);
        await using WebApplication c = await TestNodes.StartAsync(cancellationToken, address: IPAddress.Loopback, port: portC);
        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, new() { ["StemeDbSync:PeerDns:0"] = Service }, configure: services => services.AddSingleton<IPeerNameResolver>(resolver), address: IPAddress.Loopback, port: portA);
        PeerDirectory directory = DirectoryOf(a);

        string[] atStart = [.. directory.Addresses];
        resolver.SetService(Service, new(0, 10, (ushort)portA, "a.nodes.test"), new(0, 10, (ushort)portB, "b.nodes.test"), new(0, 10, (ushort)portC, "c.nodes.test"));
        await directory.RefreshAsync(cancellationToken);
        string[] cPromoted = [.. directory.Addresses.Order()];
        resolver.SetService(Service, new(0, 10, (ushort)portA, "a.nodes.test"), new(0, 10, (ushort)portC, "c.nodes.test"));
        await directory.RefreshAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(atStart, Is.EqualTo(new[] { $"http://127.0.0.1:{portB}" }), "never itself, and not the priority-1 target");
            Assert.That(cPromoted, Is.EqualTo(new[] { $"http://127.0.0.1:{portB}", $"http://127.0.0.1:{portC}" }.Order()), "a target that joins the lowest priority is added");
            Assert.That(directory.Addresses, Is.EqualTo(new[] { $"http://127.0.0.1:{portC}" }), "a record that disappears removes its peer");
            Assert.That(a.Services.GetRequiredService<SyncNode>().Peers, Has.Count.EqualTo(1));
            Assert.That(resolver.ServiceLookups, Is.GreaterThanOrEqualTo(3));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PeerDns_WithAllowedPeers_APeerWhoseCertificateNamesOnlyTheDnsNameIsNotAdded(CancellationToken cancellationToken)
    {
        using var pki = new TestPki();
        using var ca = new TestAuthority("stemedb test ca");
        string caFile = pki.Write("ca.pem", ca.Certificate.ExportCertificatePem());
        (string aCert, string aKey) = pki.Issue(ca, "node-a");
        (string bCert, string bKey) = pki.Issue(ca, "node-b");           // names localhost (the DNS name) and node-b
        (string cCert, string cKey) = pki.Issue(ca, "impostor");         // names localhost too, but no allowed peer
        Dictionary<string, string?> Tls(string cert, string key) => TestNodes.MutualTls(caFile, cert, key);
        await using WebApplication b = await TestNodes.StartAsync(cancellationToken, Tls(bCert, bKey), tls: true);
        await using WebApplication c = await TestNodes.StartAsync(cancellationToken, Tls(cCert, cKey), tls: true);
        var resolver = new FakePeerNameResolver();
        resolver.Set("localhost", "127.0.0.1");
        resolver.SetService("_grpc._tcp.nodes.test", new(0, 10, (ushort)TestNodes.AddressOf(b).Port, "localhost"), new(0, 10, (ushort)TestNodes.AddressOf(c).Port, "localhost"));
        Dictionary<string, string?> configA = Tls(aCert, aKey);
        configA["StemeDbSync:PeerDns:0"] = "_grpc._tcp.nodes.test";
        await using WebApplication a = await TestNodes.StartAsync(cancellationToken, configA, tls: true, configure: services => services.AddSingleton<IPeerNameResolver>(resolver));

        Assert.That(DirectoryOf(a).Addresses, Is.EqualTo(new[] { $"https://127.0.0.1:{TestNodes.AddressOf(b).Port}" }), "c's certificate carries the name DNS gave, but names no allowed peer");
    }

    private static PeerDirectory DirectoryOf(WebApplication app) =>
        app.Services.GetServices<IHostedService>().OfType<StemeDbSyncHostedService>().Single().Peers;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

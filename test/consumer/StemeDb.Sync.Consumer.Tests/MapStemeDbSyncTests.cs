using System;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Consumer.Tests;

/// <summary>The one-call web host from the packages: AddStemeDbSync, then MapStemeDbSync.</summary>
[TestFixture]
public sealed class MapStemeDbSyncTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task MapStemeDbSync_FromThePackages_PeerSyncsWithTheNode(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddStemeDbSync(options => { });
        await using WebApplication app = builder.Build();
        app.MapStemeDbSync();
        await app.StartAsync(cancellationToken);
        SyncNode served = app.Services.GetRequiredService<SyncNode>();
        await served.IngestAsync(TestAssertions.Encode("served by MapStemeDbSync", served.NodeId, TestAssertions.RecentTime), cancellationToken);
        Uri address = new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());

        await using var client = new SyncNode(new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan }, new InMemoryAssertionStore());
        await client.StartAsync(cancellationToken);
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(address);
        await client.SyncWithPeerAsync(peer, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(client.Count, Is.EqualTo(1));
            Assert.That(client.Root, Is.EqualTo(served.Root));
        });
        await app.StopAsync(cancellationToken);
    }
}

using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>The peer conformance kit over gRPC: each server is served by <see cref="SyncServiceImpl"/> on loopback Kestrel and reached by a <see cref="GrpcSyncPeer"/>.</summary>
[TestFixture]
public sealed class GrpcSyncPeerContractTests : SyncPeerContractTests
{
    private readonly Dictionary<SyncServer, KestrelHost> _hosts = new();

    [TearDown]
    public async Task StopHostsAsync()
    {
        foreach (KestrelHost host in _hosts.Values)
        {
            await host.DisposeAsync();
        }

        _hosts.Clear();
    }

    protected override async ValueTask<ISyncPeer> ConnectAsync(SyncServer server, CancellationToken cancellationToken)
    {
        KestrelHost host = await KestrelHost.StartAsync(server);
        _hosts.Add(server, host);
        return host.CreatePeer();
    }

    protected override async ValueTask StopServingAsync(SyncServer server, CancellationToken cancellationToken) =>
        await _hosts[server].DisposeAsync();
}

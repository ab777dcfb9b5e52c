using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>The peer conformance kit over gRPC: each handler is served by <see cref="SyncServiceImpl"/> on loopback Kestrel and reached by a <see cref="GrpcSyncPeer"/>.</summary>
[TestFixture]
public sealed class GrpcSyncPeerContractTests : SyncPeerContractTests
{
    private readonly List<KestrelHost> _hosts = new();

    [TearDown]
    public async Task StopHostsAsync()
    {
        foreach (KestrelHost host in _hosts)
        {
            await host.DisposeAsync();
        }

        _hosts.Clear();
    }

    protected override async ValueTask<ISyncPeer> ConnectAsync(ISyncRequestHandler handler, CancellationToken cancellationToken)
    {
        KestrelHost host = await KestrelHost.StartAsync(handler);
        _hosts.Add(host);
        return host.CreatePeer();
    }
}

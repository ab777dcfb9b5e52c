using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Testing;

/// <summary>The peer conformance kit over the in-memory transport (extensions forwarded, no faults): each server is an endpoint of its own network.</summary>
[TestFixture]
public sealed class InMemoryPeerContractTests : SyncPeerContractTests
{
    private const string ServerName = "server";
    private readonly Dictionary<SyncServer, InMemoryNetwork> _networks = new();

    [TearDown]
    public void ForgetNetworks() => _networks.Clear();

    protected override ValueTask<ISyncPeer> ConnectAsync(SyncServer server, CancellationToken cancellationToken)
    {
        var network = new InMemoryNetwork();
        network.SetEndpoint(ServerName, server);
        _networks[server] = network;
        return new ValueTask<ISyncPeer>(network.CreatePeer("client", ServerName));
    }

    protected override ValueTask StopServingAsync(SyncServer server, CancellationToken cancellationToken)
    {
        _networks[server].Disconnect(ServerName);
        return ValueTask.CompletedTask;
    }
}

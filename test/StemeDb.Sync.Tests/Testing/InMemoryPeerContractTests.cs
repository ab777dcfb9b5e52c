using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Testing;

/// <summary>The peer conformance kit over the in-memory transport (extensions forwarded, no faults).</summary>
[TestFixture]
public sealed class InMemoryPeerContractTests : SyncPeerContractTests
{
    protected override ValueTask<ISyncPeer> ConnectAsync(ISyncRequestHandler handler, CancellationToken cancellationToken)
    {
        var network = new InMemoryNetwork();
        network.SetEndpoint("server", handler);
        return new ValueTask<ISyncPeer>(network.CreatePeer("client", "server"));
    }
}

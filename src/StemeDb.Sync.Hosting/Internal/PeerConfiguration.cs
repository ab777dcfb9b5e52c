using System;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>One <see cref="StemeDbSyncBuilder.ConfigurePeers"/> adjustment, applied to every configured peer in order.</summary>
internal sealed class PeerConfiguration(Action<Uri, GrpcSyncPeerOptions> configure)
{
    public void Apply(Uri address, GrpcSyncPeerOptions options) => configure(address, options);
}

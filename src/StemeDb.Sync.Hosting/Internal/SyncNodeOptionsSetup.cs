using System;
using System.Threading;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>Derives the engine settings from <see cref="StemeDbSyncOptions"/>; the host's own adjustments run after it.</summary>
internal sealed class SyncNodeOptionsSetup : IConfigureOptions<SyncNodeOptions>
{
    private readonly IOptions<StemeDbSyncOptions> _options;

    public SyncNodeOptionsSetup(IOptions<StemeDbSyncOptions> options)
    {
        _options = options;
    }

    public void Configure(SyncNodeOptions options)
    {
        // Reading Value runs the validators: an invalid configuration fails here with every message.
        StemeDbSyncOptions settings = _options.Value;
        if (settings.NodeId is { } nodeId)
        {
            options.NodeId = NodeId.Parse(nodeId);
        }

        options.AntiEntropyInterval = settings.AntiEntropyInterval;
        options.AntiEntropyJitter = settings.AntiEntropyInterval == Timeout.InfiniteTimeSpan
            ? TimeSpan.Zero
            : settings.AntiEntropyInterval / 6;
        options.GossipFanout = settings.GossipFanout;
        options.PeerCallTimeout = settings.PeerCallTimeout;
    }
}

using System;
using System.Threading.Tasks;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Creates started engine nodes for tests.</summary>
internal static class TestNodes
{
    /// <summary>Starts a node over <paramref name="store"/> (a new in-memory store when null), with the rkyv assertion validator.</summary>
    public static async Task<SyncNode> StartAsync(IAssertionStore? store = null, Action<SyncNodeOptions>? configure = null)
    {
        var options = new SyncNodeOptions
        {
            ContentValidator = RkyvAssertionValidator.Instance,
            AntiEntropyInterval = TimeSpan.FromMinutes(10),
            AntiEntropyJitter = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        var node = new SyncNode(options, store ?? new InMemoryAssertionStore());
        await node.StartAsync();
        return node;
    }

    /// <summary>Ingests a record's data; returns the record as the node stamped it.</summary>
    public static async Task<AssertionRecord> IngestAsync(this SyncNode node, AssertionRecord record)
    {
        IngestResult result = await node.IngestAsync(record.Data);
        return new AssertionRecord(result.Hash, record.Data, result.Timestamp);
    }
}

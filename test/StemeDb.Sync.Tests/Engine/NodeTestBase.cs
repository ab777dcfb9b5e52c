using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>What the node's test fixtures share: started nodes disposed after each test, and fake time.</summary>
public abstract class NodeTestBase
{
    private protected StartedNodes Nodes { get; } = new();

    private protected FakeTimeProvider Time { get; private set; } = null!;

    [SetUp]
    public void SetUpTime() => Time = new FakeTimeProvider(EngineTestKit.Start);

    [TearDown]
    public async Task DisposeNodesAsync() => await Nodes.DisposeAsync();

    private protected Task<SyncNode> StartNodeAsync(SyncNodeOptions options, IAssertionStore? store = null, TimeProvider? time = null) =>
        Nodes.StartAsync(options, store, time ?? Time);

    private protected static SyncNodeOptions Manual(int id, Action<SyncNodeOptions>? configure = null) =>
        EngineTestKit.Options(id, o =>
        {
            o.RunBackgroundLoops = false;
            configure?.Invoke(o);
        });
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>
/// Nodes each served by its own Kestrel on 127.0.0.1 and connected to each other with <see cref="GrpcSyncPeer"/>.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly Action<SyncNodeOptions> _configure;
    private readonly List<Member> _members = [];

    // Released after every call any member's server answers: convergence is checked on these events, not on a clock.
    private readonly SemaphoreSlim _calls = new(0);

    private TestCluster(Action<SyncNodeOptions> configure) => _configure = configure;

    public int Size => _members.Count;

    public SyncNode this[int index] => _members[index].Node;

    /// <summary>The peer that node <paramref name="from"/> uses to reach node <paramref name="to"/>.</summary>
    public GrpcSyncPeer Peer(int from, int to) => _members[from].Peers[to];

    public static async Task<TestCluster> StartAsync(int size, Action<SyncNodeOptions> configure, bool connect = true)
    {
        var cluster = new TestCluster(configure);
        for (int i = 0; i < size; i++)
        {
            var store = new InMemoryAssertionStore();
            var nodeId = NodeId.NewId();
            SyncNode node = await cluster.StartNodeAsync(store, nodeId);
            KestrelHost host = await KestrelHost.StartAsync(new StemeDb.Sync.Tests.Shared.SignallingHandler(node.Handler, cluster._calls));
            cluster._members.Add(new Member(store, nodeId, node, host));
        }

        foreach (Member member in cluster._members)
        {
            for (int j = 0; j < size; j++)
            {
                if (cluster._members[j] != member)
                {
                    GrpcSyncPeer peer = cluster._members[j].Host.CreatePeer();
                    member.Peers[j] = peer;
                    if (connect)
                    {
                        member.Node.AddPeer(peer);
                    }
                }
            }
        }

        return cluster;
    }

    /// <summary>Stops node <paramref name="index"/> and its server at once (calls in flight are aborted).</summary>
    public async Task KillAsync(int index)
    {
        Member member = _members[index];
        await member.Host.KillAsync();
        await member.Node.DisposeAsync();
    }

    /// <summary>Starts node <paramref name="index"/> again over its store, with its id and on its port; it rejoins its peers.</summary>
    public async Task RestartAsync(int index)
    {
        Member old = _members[index];
        SyncNode node = await StartNodeAsync(old.Store, old.NodeId);
        KestrelHost host = await KestrelHost.StartAsync(new StemeDb.Sync.Tests.Shared.SignallingHandler(node.Handler, _calls), new KestrelHostOptions { Port = old.Host.Address.Port });
        var member = new Member(old.Store, old.NodeId, node, host);
        foreach ((int j, GrpcSyncPeer peer) in old.Peers)
        {
            member.Peers[j] = peer;
            node.AddPeer(peer);
        }

        _members[index] = member;
    }

    /// <summary>
    /// Waits until every node holds <paramref name="count"/> assertions under the same root, checking after every call a
    /// member answers (a push stored, a pass served); bounded by the test's own time limit (its <c>CancelAfter</c>).
    /// </summary>
    public async Task WaitForConvergenceAsync(long count)
    {
        try
        {
            await StemeDb.Sync.Tests.Shared.SignallingHandler.WaitUntilAsync(
                _calls,
                () => _members.All(m => m.Node.Count == count) && _members.Select(m => m.Node.Root).Distinct().Count() == 1,
                TestContext.CurrentContext.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"No convergence to {count} within the test's time limit: counts {string.Join(", ", _members.Select(m => m.Node.Count))}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Member member in _members)
        {
            await member.Node.DisposeAsync();
            await member.Host.DisposeAsync();
            foreach (GrpcSyncPeer peer in member.Peers.Values)
            {
                peer.Dispose();
            }
        }
    }

    private async Task<SyncNode> StartNodeAsync(IAssertionStore store, NodeId nodeId)
    {
        var options = new SyncNodeOptions { NodeId = nodeId, ContentValidator = RkyvAssertionValidator.Instance };
        _configure(options);
        var node = new SyncNode(options, store);
        await node.StartAsync();
        return node;
    }

    private sealed record Member(InMemoryAssertionStore Store, NodeId NodeId, SyncNode Node, KestrelHost Host)
    {
        public Dictionary<int, GrpcSyncPeer> Peers { get; init; } = [];
    }
}

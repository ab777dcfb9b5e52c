using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using StemeDb.Sync.Grpc.Internal;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>The <c>GetStatus</c> extension over Kestrel: the round trip, the server pipeline's authorizer, and answers outside the protocol.</summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public sealed class StatusTests
{
    [Test]
    public async Task GetStatus_OverKestrel_CarriesTheNodeAndEveryPeerField(CancellationToken cancellationToken)
    {
        await using SyncNode a = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        await using SyncNode b = await TestNodes.StartAsync(configure: o => o.AntiEntropyInterval = Timeout.InfiniteTimeSpan);
        await b.IngestAsync(Records.Create("status-1"));
        await b.IngestAsync(Records.Create("status-2"));
        await using KestrelHost hostB = await KestrelHost.StartAsync(b.Handler);
        using GrpcSyncPeer toB = hostB.CreatePeer();
        a.AddPeer(toB);
        await a.SyncWithPeerAsync(toB, cancellationToken);
        await using KestrelHost hostA = await KestrelHost.StartAsync(a.Handler);
        using GrpcSyncPeer toA = hostA.CreatePeer();

        SyncNodeStatus remote = await toA.GetStatusAsync(cancellationToken);

        SyncNodeStatus local = a.GetStatus();
        SyncPeerStatus expected = local.Peers.Single();
        SyncPeerStatus actual = remote.Peers.Single();
        Assert.Multiple(() =>
        {
            Assert.That(remote.NodeId, Is.EqualTo(a.NodeId));
            Assert.That(remote.Count, Is.EqualTo(2));
            Assert.That(remote.Root, Is.EqualTo(a.Root));
            Assert.That(actual.Name, Is.EqualTo(expected.Name));
            Assert.That(actual.State, Is.EqualTo(SyncPeerState.InSync));
            Assert.That(actual.Extensions, Is.EqualTo(expected.Extensions));
            Assert.That(actual.RemoteCount, Is.EqualTo(2));
            Assert.That(actual.Missing, Is.Zero);
            Assert.That(actual.MissingExact, Is.True);
            Assert.That(actual.LastPassAt?.ToUnixTimeMilliseconds(), Is.EqualTo(expected.LastPassAt?.ToUnixTimeMilliseconds()));
            Assert.That(actual.LastSuccessAt, Is.Not.Null);
            Assert.That(actual.LastPassDuration, Is.Not.Null);
            Assert.That(actual.LastError, Is.Null);
        });
    }

    [Test]
    public async Task GetStatus_AuthorizerRefusesIt_PermissionDeniedWhileOtherCallsPass(CancellationToken cancellationToken)
    {
        await using SyncNode a = await TestNodes.StartAsync();
        var server = new SyncServer(a.Handler, authorizer: new RefuseStatus());
        await using KestrelHost host = await KestrelHost.StartAsync(server);
        using GrpcSyncPeer peer = host.CreatePeer();

        SyncPeerException refused = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GetStatusAsync(cancellationToken))!;
        PingResult ping = await peer.PingAsync(NodeId.NewId(), cancellationToken);

        Assert.That(refused.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
        Assert.That(ping.NodeId, Is.EqualTo(a.NodeId));
    }

    [TestCase(15, 32, 0, "node id")]
    [TestCase(16, 31, 0, "root")]
    [TestCase(16, 32, 1001, "peers")]
    public void FromWire_AnswerOutsideTheProtocol_NamesTheProblem(int idLength, int rootLength, int peers, string problem)
    {
        var response = new GetStatusResponse { NodeId = ByteString.CopyFrom(new byte[idLength]), Root = ByteString.CopyFrom(new byte[rootLength]) };
        response.Peers.AddRange(Enumerable.Range(0, peers).Select(i => new PeerStatus { Name = $"p{i}", State = "in_sync" }));

        (SyncNodeStatus? status, _, string? why) = WireMapping.FromWire(response);

        Assert.That(status, Is.Null);
        Assert.That(why, Does.Contain(problem));
    }

    [Test]
    public void FromWire_UnknownStateAndExtensionNames_ReadAsUnknownAndSkipped()
    {
        var response = new GetStatusResponse { NodeId = ByteString.CopyFrom(new byte[16]), Root = ByteString.CopyFrom(new byte[32]), PeersTotal = 3 };
        var peer = new PeerStatus { Name = "p", State = "some_later_state", Missing = 4 };
        peer.Extensions.Add("broadcast");
        peer.Extensions.Add("a_later_extension");
        response.Peers.Add(peer);

        (SyncNodeStatus? status, int total, string? why) = WireMapping.FromWire(response);

        Assert.That(why, Is.Null);
        Assert.That(total, Is.EqualTo(3));
        Assert.That(status!.Peers.Single().State, Is.EqualTo(SyncPeerState.Unknown));
        Assert.That(status.Peers.Single().Extensions, Is.EqualTo(SyncExtensions.Broadcast));
        Assert.That(status.Peers.Single().LastPassAt, Is.Null);
        Assert.That(status.Peers.Single().Missing, Is.EqualTo(4));
    }

    private sealed class RefuseStatus : ISyncCallAuthorizer
    {
        public ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken) =>
            rpc == SyncRpc.GetStatus
                ? throw new SyncRequestException(SyncStatusCode.PermissionDenied, "operators only")
                : ValueTask.CompletedTask;
    }
}

using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Cli.Tests.Support;
using V1 = StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// The <c>Broadcast</c> extension against <c>stemedb-sync serve</c> as a real process, called the way a hostile peer
/// would: announcements of hashes it never delivers, messages over the limits, and rejected payloads. Each is bounded
/// before it is done, and goes through the same guard as every call (docs/PROTOCOL.md, "Broadcast").
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeProcessBroadcastTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task Serve_AnnouncementsOfHashesNeverDelivered_AsksForEachOnceRefusesOversizedMessagesAndStaysUp(CancellationToken cancellationToken)
    {
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0");
        Uri address = await node.WaitForAddressAsync(cancellationToken);
        using GrpcChannel channel = GrpcChannel.ForAddress(address);
        var client = new V1.SyncService.SyncServiceClient(channel);
        ByteString[] never = Enumerable.Range(0, 1000).Select(i => ByteString.CopyFrom(Hash(i))).ToArray();

        V1.BroadcastResponse first = await client.BroadcastAsync(Announce(never), cancellationToken: cancellationToken);
        V1.BroadcastResponse again = await client.BroadcastAsync(Announce(never), cancellationToken: cancellationToken);
        RpcException tooMany = Assert.ThrowsAsync<RpcException>(async () =>
            await client.BroadcastAsync(Announce(never.Append(ByteString.CopyFrom(Hash(1000))).ToArray()), cancellationToken: cancellationToken))!;
        RpcException shortHash = Assert.ThrowsAsync<RpcException>(async () =>
            await client.BroadcastAsync(Announce(ByteString.CopyFrom(new byte[31])), cancellationToken: cancellationToken))!;
        AssertionRecord honest = TestAssertions.Record("broadcast:honest");
        var push = new V1.BroadcastRequest();
        push.Assertions.Add(new V1.AssertionData { Hash = ByteString.CopyFrom(honest.Hash.ToArray()), Data = ByteString.CopyFrom(honest.Data.Span) });
        V1.BroadcastResponse pushed = await client.BroadcastAsync(push, cancellationToken: cancellationToken);
        V1.PingResponse ping = await client.PingAsync(new V1.PingRequest { NodeId = ByteString.CopyFrom(NodeId.NewId().ToArray()) }, cancellationToken: cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(first.Want, Has.Count.EqualTo(1000), "each announced hash the node lacks is asked for");
            Assert.That(first.NodeId.Length, Is.EqualTo(16));
            Assert.That(again.Want, Is.Empty, "hashes asked for are not asked for again while their payloads may still come");
            Assert.That(tooMany.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), tooMany.Status.Detail);
            Assert.That(shortHash.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), shortHash.Status.Detail);
            Assert.That(pushed.Results.Single().Accepted, Is.True, pushed.Results.Single().Error);
            Assert.That(ping.AssertionCount, Is.EqualTo(1UL), "the node stays up and stores the honest payload");
        });
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Serve_BroadcastPushesOfRejectedPayloads_CountTowardTheGuardsRejectionLimit(CancellationToken cancellationToken)
    {
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0");
        Uri address = await node.WaitForAddressAsync(cancellationToken);
        using GrpcChannel channel = GrpcChannel.ForAddress(address);
        var client = new V1.SyncService.SyncServiceClient(channel);

        int rejected = 0, refused = 0;
        for (int i = 0; i < 150; i++)
        {
            byte[] data = BitConverter.GetBytes(i); // not an rkyv archive: rejected by the content check
            var request = new V1.BroadcastRequest();
            request.Assertions.Add(new V1.AssertionData { Hash = ByteString.CopyFrom(AssertionHash.Compute(data).ToArray()), Data = ByteString.CopyFrom(data) });
            try
            {
                V1.BroadcastResponse response = await client.BroadcastAsync(request, cancellationToken: cancellationToken);
                rejected += response.Results.Count(r => !r.Accepted);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                refused++;
            }
        }

        Assert.Multiple(() =>
        {
            // The default limit is 100 rejected requests in a window: the one that goes past it is still answered.
            Assert.That(rejected, Is.GreaterThan(0).And.LessThanOrEqualTo(101), "each message is answered item by item until the limit");
            Assert.That(refused, Is.EqualTo(150 - rejected), "past the limit of rejected requests, the guard refuses the caller");
            Assert.That(refused, Is.GreaterThanOrEqualTo(49));
        });
    }

    private static V1.BroadcastRequest Announce(params ByteString[] hashes)
    {
        var request = new V1.BroadcastRequest();
        request.Announced.AddRange(hashes);
        return request;
    }

    private static byte[] Hash(int i)
    {
        byte[] hash = new byte[32];
        BitConverter.TryWriteBytes(hash, i);
        hash[31] = 0x5A;
        return hash;
    }
}

using System;
using System.Buffers.Binary;
using System.Threading;
using System.Threading.Tasks;
using Moq;

namespace StemeDb.Sync.Testing.Tests;

/// <summary>Deterministic node ids, records and request handlers for the tests of the test kit.</summary>
internal static class TestRecords
{
    public static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    public static NodeId NodeIdFor(int i)
    {
        byte[] bytes = new byte[NodeId.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), i + 1);
        bytes[0] = 0xB0;
        return new NodeId(bytes);
    }

    /// <summary>Distinct, deterministic bytes (not an rkyv assertion): 16 to 80 bytes.</summary>
    public static byte[] Data(int seed)
    {
        var random = new Random(seed);
        byte[] data = new byte[16 + random.Next(65)];
        random.NextBytes(data);
        BinaryPrimitives.WriteInt32LittleEndian(data, seed);
        return data;
    }

    public static AssertionRecord Record(int seed)
    {
        byte[] data = Data(seed);
        return new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp((ulong)Start.ToUnixTimeMilliseconds(), 0, NodeIdFor(99)));
    }

    /// <summary>A handler that accepts every gossip and answers every ping with an assertion count of 3.</summary>
    public static Mock<ISyncRequestHandler> Handler()
    {
        var handler = new Mock<ISyncRequestHandler>();
        handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()))
            .Returns(new ValueTask<GossipResult>(GossipResult.Ok));
        handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()))
            .Returns(new ValueTask<PingResult>(new PingResult(NodeIdFor(2), 3)));
        return handler;
    }
}

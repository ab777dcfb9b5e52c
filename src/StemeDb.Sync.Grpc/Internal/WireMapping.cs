using System;
using Google.Protobuf;
using StemeDb.Sync.Grpc.V1;
using WireSymbolsRequest = StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest;
using WireSymbolsResponse = StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse;

namespace StemeDb.Sync.Grpc.Internal;

/// <summary>
/// The one mapping between the core's records and values and the <c>stemedb.sync.v1</c> messages, for both the
/// client (<see cref="GrpcSyncPeer"/>) and the server (<see cref="SyncServiceImpl"/>). Bytes are wrapped, not
/// copied: records, hashes and ids are immutable.
/// </summary>
internal static class WireMapping
{
    /// <summary>
    /// The network source of a gRPC peer string (<c>ipv4:10.0.0.7:5001</c>, <c>ipv6:[2001:db8::1]:5001</c>): the IPv4
    /// address without the port, or the /64 prefix of an IPv6 address (an IPv4-mapped one as IPv4); the string itself
    /// when it is neither, and <c>unknown</c> when empty.
    /// </summary>
    public static string Source(string? peer)
    {
        if (string.IsNullOrEmpty(peer))
        {
            return "unknown";
        }

        if (peer.StartsWith("ipv4:", StringComparison.Ordinal))
        {
            int colon = peer.LastIndexOf(':');
            return colon > 5 ? peer[..colon] : peer;
        }

        if (peer.StartsWith("ipv6:", StringComparison.Ordinal))
        {
            string rest = peer[5..];
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            string host = rest.StartsWith('[') && close > 0 ? rest[1..close] : rest;
            int zone = host.IndexOf('%', StringComparison.Ordinal);
            if (zone >= 0)
            {
                host = host[..zone];
            }

            if (System.Net.IPAddress.TryParse(host, out System.Net.IPAddress? address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                if (address.IsIPv4MappedToIPv6)
                {
                    return "ipv4:" + address.MapToIPv4();
                }

                byte[] bytes = address.GetAddressBytes();
                Array.Clear(bytes, 8, 8);
                return "ipv6:[" + new System.Net.IPAddress(bytes) + "]/64";
            }
        }

        return peer;
    }

    public static ByteString Bytes(AssertionHash hash) => UnsafeByteOperations.UnsafeWrap(hash.ToArray());

    public static ByteString Bytes(NodeId id) => UnsafeByteOperations.UnsafeWrap(id.ToArray());

    /// <summary>A count on the wire (<c>uint64</c>); counts are never negative.</summary>
    public static ulong Count(long count) => (ulong)Math.Max(0, count);

    /// <summary>A record as an <c>AssertionData</c> (fetch answers and batch pushes), with its HLC fields.</summary>
    public static AssertionData ToData(AssertionRecord record) => new()
    {
        Hash = Bytes(record.Hash),
        Data = UnsafeByteOperations.UnsafeWrap(record.Data),
        HlcTime = record.Timestamp.Time,
        HlcCounter = record.Timestamp.Counter,
        HlcNodeId = Bytes(record.Timestamp.NodeId),
    };

    /// <summary>A push as an <c>AssertionData</c> (broadcast payloads): its fields as they are.</summary>
    public static AssertionData ToData(GossipMessage message) => new()
    {
        Hash = UnsafeByteOperations.UnsafeWrap(message.Hash),
        Data = UnsafeByteOperations.UnsafeWrap(message.Data),
        HlcTime = message.HlcTime,
        HlcCounter = message.HlcCounter,
        HlcNodeId = UnsafeByteOperations.UnsafeWrap(message.HlcNodeId),
    };

    /// <summary>A record as a unary <c>Gossip</c> push.</summary>
    public static GossipRequest ToGossipRequest(AssertionRecord record) => new()
    {
        AssertionHash = Bytes(record.Hash),
        AssertionData = UnsafeByteOperations.UnsafeWrap(record.Data),
        HlcTime = record.Timestamp.Time,
        HlcCounter = record.Timestamp.Counter,
        HlcNodeId = Bytes(record.Timestamp.NodeId),
    };

    /// <summary>A received unary push, raw (the handler verifies it).</summary>
    public static GossipMessage ToMessage(GossipRequest request) =>
        new(request.AssertionHash.Memory, request.AssertionData.Memory, request.HlcTime, request.HlcCounter, request.HlcNodeId.Memory);

    /// <summary>A received batch item, raw (the handler verifies it).</summary>
    public static GossipMessage ToMessage(AssertionData item) =>
        new(item.Hash.Memory, item.Data.Memory, item.HlcTime, item.HlcCounter, item.HlcNodeId.Memory);

    /// <summary>A <c>ReconcileSymbols</c> request on the wire.</summary>
    public static WireSymbolsRequest ToWire(ReconcileSymbolsRequest request) => new()
    {
        Version = request.Version,
        Start = request.Start,
        Count = request.Count,
        Snapshot = request.Snapshot,
    };

    /// <summary>A <c>ReconcileSymbols</c> request from the wire (checked by the handler).</summary>
    public static ReconcileSymbolsRequest FromWire(WireSymbolsRequest request) =>
        new(request.Version, request.Start, request.Count, request.Snapshot);

    /// <summary>A <c>ReconcileSymbols</c> answer on the wire.</summary>
    public static WireSymbolsResponse ToWire(ReconcileSymbolsResponse response) => new()
    {
        AssertionCount = response.AssertionCount,
        Snapshot = response.Snapshot,
        Symbols = UnsafeByteOperations.UnsafeWrap(response.Symbols),
        SnapshotGone = response.SnapshotGone,
    };

    /// <summary>A <c>ReconcileSymbols</c> answer from the wire (checked by the engine).</summary>
    public static ReconcileSymbolsResponse FromWire(WireSymbolsResponse response) =>
        new(response.AssertionCount, response.Snapshot, response.Symbols.Memory, response.SnapshotGone);
}

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

    /// <summary>The most characters of a peer's name or error in a <c>GetStatus</c> answer this client accepts.</summary>
    private const int MaxStatusText = 2048;

    /// <summary>A status as a <c>GetStatusResponse</c>.</summary>
    public static GetStatusResponse ToWire(StatusAnswer answer)
    {
        SyncNodeStatus status = answer.Status;
        var response = new GetStatusResponse
        {
            NodeId = Bytes(status.NodeId),
            Count = Count(status.Count),
            Root = Bytes(status.Root),
            PendingGossip = (uint)Math.Max(0, status.PendingGossip),
            AtUnixMs = status.At.ToUnixTimeMilliseconds(),
            PeersTotal = (uint)Math.Max(0, answer.PeersTotal),
        };
        foreach (SyncPeerStatus peer in status.Peers)
        {
            var wire = new PeerStatus
            {
                Name = peer.Name,
                State = StatusNames.State(peer.State),
                PassRunning = peer.PassRunning,
                LastError = peer.LastError ?? string.Empty,
                Missing = Count(peer.Missing),
                MissingExact = peer.MissingExact,
                PeerMissing = Count(peer.PeerMissing),
            };
            wire.Extensions.AddRange(StatusNames.Extensions(peer.Extensions));
            if (peer.LastPassAt is { } lastPass)
            {
                wire.LastPassAtUnixMs = lastPass.ToUnixTimeMilliseconds();
            }

            if (peer.LastPassDuration is { } duration)
            {
                wire.LastPassDurationMs = (long)duration.TotalMilliseconds;
            }

            if (peer.LastSuccessAt is { } lastSuccess)
            {
                wire.LastSuccessAtUnixMs = lastSuccess.ToUnixTimeMilliseconds();
            }

            if (peer.RemoteCount is { } remote)
            {
                wire.RemoteCount = Count(remote);
            }

            response.Peers.Add(wire);
        }

        return response;
    }

    /// <summary>
    /// A <c>GetStatusResponse</c> as a status, and the peers the node has in all; <see langword="null"/> with the problem
    /// when the answer is outside the protocol (lengths, too many peers, overlong text, counts past <see cref="long.MaxValue"/>).
    /// </summary>
    public static (SyncNodeStatus? Status, int PeersTotal, string? Problem) FromWire(GetStatusResponse response)
    {
        if (!NodeId.TryCreate(response.NodeId.Span, out NodeId nodeId))
        {
            return (null, 0, $"the node id is {response.NodeId.Length} bytes, not {SyncProtocol.NodeIdLength}");
        }

        if (response.Root.Length != SyncProtocol.HashLength)
        {
            return (null, 0, $"the root is {response.Root.Length} bytes, not {SyncProtocol.HashLength}");
        }

        if (response.Peers.Count > SyncProtocol.MaxStatusPeers)
        {
            return (null, 0, $"{response.Peers.Count} peers are listed, more than {SyncProtocol.MaxStatusPeers}");
        }

        if (response.Count > long.MaxValue)
        {
            return (null, 0, "the count is past 2^63");
        }

        var peers = new SyncPeerStatus[response.Peers.Count];
        for (int i = 0; i < peers.Length; i++)
        {
            PeerStatus wire = response.Peers[i];
            if (wire.Name.Length > MaxStatusText || wire.LastError.Length > MaxStatusText)
            {
                return (null, 0, $"peer {i}'s name or error is longer than {MaxStatusText} characters");
            }

            if (wire.Missing > long.MaxValue || wire.PeerMissing > long.MaxValue || wire.RemoteCount > long.MaxValue)
            {
                return (null, 0, $"peer {i}'s counts are past 2^63");
            }

            peers[i] = new SyncPeerStatus
            {
                Name = wire.Name,
                State = StatusNames.ParseState(wire.State),
                Extensions = StatusNames.ParseExtensions(wire.Extensions),
                PassRunning = wire.PassRunning,
                LastPassAt = wire.HasLastPassAtUnixMs ? Time(wire.LastPassAtUnixMs) : null,
                LastPassDuration = wire.HasLastPassDurationMs ? TimeSpan.FromMilliseconds(Math.Max(0, wire.LastPassDurationMs)) : null,
                LastSuccessAt = wire.HasLastSuccessAtUnixMs ? Time(wire.LastSuccessAtUnixMs) : null,
                LastError = wire.LastError.Length > 0 ? wire.LastError : null,
                RemoteCount = wire.HasRemoteCount ? (long)wire.RemoteCount : null,
                Missing = (long)wire.Missing,
                MissingExact = wire.MissingExact,
                PeerMissing = (long)wire.PeerMissing,
            };
        }

        var status = new SyncNodeStatus
        {
            NodeId = nodeId,
            At = Time(response.AtUnixMs),
            Count = (long)response.Count,
            Root = new AssertionHash(response.Root.Span),
            PendingGossip = (int)Math.Min(int.MaxValue, response.PendingGossip),
            Peers = peers,
        };
        return (status, (int)Math.Min(int.MaxValue, Math.Max(response.PeersTotal, (uint)peers.Length)), null);
    }

    /// <summary>Unix milliseconds as a time, clamped to the range <see cref="DateTimeOffset"/> holds.</summary>
    private static DateTimeOffset Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(unixMs, DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Clock;
using StemeDb.Sync.Merkle;
using StemeDb.Sync.Storage;
using StemeDb.Sync.Transport;
using StemeDb.Sync.Validation;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>
/// A small <see cref="ISyncRequestHandler"/> that follows the documented v1 contract (lengths, limits,
/// hash check, content validator, clock drift), used to test the adapters over real Kestrel independently of
/// the engine's handler.
/// </summary>
internal sealed class ContractRequestHandler : ISyncRequestHandler
{
    public const int MaxFetch = 1000;
    public const uint LeavesCap = 10_000;

    private readonly IAssertionContentValidator? _validator;

    public ContractRequestHandler(IAssertionContentValidator? validator = null, TimeProvider? time = null)
    {
        _validator = validator;
        Clock = new HybridLogicalClock(NodeId, time);
    }

    public NodeId NodeId { get; } = NodeId.NewId();

    public HybridLogicalClock Clock { get; }

    public InMemoryAssertionStore Store { get; } = new();

    public MerkleIndex Index { get; } = new();

    public long Count => Index.Count;

    public async ValueTask AddAsync(AssertionRecord record)
    {
        await Store.PutAsync(record);
        Index.Add(record.Hash);
    }

    public async ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default)
    {
        if (message.Hash.Length != AssertionHash.Length)
        {
            return GossipResult.Rejected($"assertion_hash must be {AssertionHash.Length} bytes; got {message.Hash.Length}.");
        }

        if (message.HlcNodeId.Length != NodeId.Length)
        {
            return GossipResult.Rejected($"hlc_node_id must be {NodeId.Length} bytes; got {message.HlcNodeId.Length}.");
        }

        var hash = new AssertionHash(message.Hash.Span);
        if (!hash.Matches(message.Data.Span))
        {
            return GossipResult.Rejected("assertion_hash does not match BLAKE3(assertion_data).");
        }

        if (_validator is not null && !_validator.TryValidate(message.Data.Span, out string? error))
        {
            return GossipResult.Rejected($"invalid assertion content: {error}");
        }

        var timestamp = new HlcTimestamp(message.HlcTime, message.HlcCounter, new NodeId(message.HlcNodeId.Span));
        if (!Clock.TryObserve(timestamp, out _))
        {
            return GossipResult.Rejected("HLC timestamp is too far ahead of the local clock.");
        }

        await AddAsync(new AssertionRecord(hash, message.Data.ToArray(), timestamp));
        return GossipResult.Ok;
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default)
    {
        if (callerRoot.Length != 0 && callerRoot.Length != AssertionHash.Length)
        {
            throw new SyncRequestException(SyncStatusCode.InvalidArgument, $"merkle_root must be {AssertionHash.Length} bytes or empty; got {callerRoot.Length}.");
        }

        AssertionHash root = Index.Root;
        bool match = callerRoot.Length == AssertionHash.Length && new AssertionHash(callerRoot.Span) == root;
        return new(new RootExchangeResult(new RootSummary(root, (ulong)Index.Count), match));
    }

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default)
    {
        int cap = (int)(maxLeaves == 0 || maxLeaves > LeavesCap ? LeavesCap : maxLeaves);
        IReadOnlyList<AssertionHash> page = Index.GetLeaves(null, cap + 1);
        bool truncated = page.Count > cap;
        var leaves = new List<AssertionHash>(page);
        if (truncated)
        {
            leaves.RemoveAt(cap);
        }

        return new(new LeavesPage(leaves, truncated));
    }

    public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default)
    {
        if (hashes.Count > MaxFetch)
        {
            throw new SyncRequestException(SyncStatusCode.InvalidArgument, $"at most {MaxFetch} hashes per fetch; got {hashes.Count}.");
        }

        var wanted = new List<AssertionHash>(hashes.Count);
        foreach (ReadOnlyMemory<byte> raw in hashes)
        {
            if (!AssertionHash.TryCreate(raw.Span, out AssertionHash hash))
            {
                throw new SyncRequestException(SyncStatusCode.InvalidArgument, $"every hash must be {AssertionHash.Length} bytes; got {raw.Length}.");
            }

            wanted.Add(hash);
        }

        return await Store.GetManyAsync(wanted, cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default)
    {
        if (callerNodeId.Length != 0 && callerNodeId.Length != NodeId.Length)
        {
            throw new SyncRequestException(SyncStatusCode.InvalidArgument, $"node_id must be {NodeId.Length} bytes or empty; got {callerNodeId.Length}.");
        }

        return new(new PingResult(NodeId, (ulong)Index.Count));
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Reconciliation;

/// <summary>Random leaf sets with a known symmetric difference, for reconciliation tests.</summary>
internal sealed class ReconcileTestSets
{
    private ReconcileTestSets(MerkleIndex local, MerkleIndex remote, HashSet<AssertionHash> onlyLocal, HashSet<AssertionHash> onlyRemote)
    {
        Local = local;
        Remote = remote;
        OnlyLocal = onlyLocal;
        OnlyRemote = onlyRemote;
    }

    public MerkleIndex Local { get; }

    public MerkleIndex Remote { get; }

    public HashSet<AssertionHash> OnlyLocal { get; }

    public HashSet<AssertionHash> OnlyRemote { get; }

    /// <summary>n shared leaves, then d differences split at random between the two sides.</summary>
    public static ReconcileTestSets Create(int shared, int differences, int seed)
    {
        var random = new Random(seed);
        var local = new MerkleIndex();
        var remote = new MerkleIndex();
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        for (int i = 0; i < shared; i++)
        {
            random.NextBytes(bytes);
            var leaf = new AssertionHash(bytes);
            local.Add(leaf);
            remote.Add(leaf);
        }

        var onlyLocal = new HashSet<AssertionHash>();
        var onlyRemote = new HashSet<AssertionHash>();
        for (int i = 0; i < differences; i++)
        {
            random.NextBytes(bytes);
            var leaf = new AssertionHash(bytes);
            if (random.Next(2) == 0)
            {
                local.Add(leaf);
                onlyLocal.Add(leaf);
            }
            else
            {
                remote.Add(leaf);
                onlyRemote.Add(leaf);
            }
        }

        return new ReconcileTestSets(local, remote, onlyLocal, onlyRemote);
    }

    /// <summary>A round function answering from <paramref name="remote"/>, optionally rewriting the answer.</summary>
    public static Func<ReconcileRoundRequest, CancellationToken, ValueTask<ReconcileRoundResponse>> Responder(
        MerkleIndex remote, Func<ReconcileRoundResponse, int, ReconcileRoundResponse>? tamper = null)
    {
        int round = 0;
        return (request, _) =>
        {
            ReconcileRoundResponse response = SetReconciler.Respond(remote, request);
            round++;
            return new ValueTask<ReconcileRoundResponse>(tamper is null ? response : tamper(response, round));
        };
    }
}

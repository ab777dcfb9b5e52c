using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace StemeDb.Sync.Testing;

/// <content>Answers outside the protocol from a hostile or failing handler: the node that syncs rejects them and keeps working.</content>
public abstract partial class SyncPeerContractTests
{
    /// <summary>A fetch answer holding a record nobody asked for fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_FetchAnswersUnrequestedRecord_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken) =>
        AssertBadAnswerAsync(
            honest => new ScriptedHandler(honest)
            {
                OnFetch = async (hashes, token) =>
                {
                    IReadOnlyList<AssertionRecord> records = await honest.FetchAsync(hashes, token).ConfigureAwait(false);
                    return records.Skip(1).Append(Record(99)).ToArray(); // as many records as asked, one of them unasked
                },
            },
            cancellationToken);

    /// <summary>A fetch answer holding the same record twice fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_FetchAnswersARecordTwice_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken) =>
        AssertBadAnswerAsync(
            honest => new ScriptedHandler(honest)
            {
                OnFetch = async (hashes, token) =>
                {
                    IReadOnlyList<AssertionRecord> records = await honest.FetchAsync(hashes.Take(1).ToArray(), token).ConfigureAwait(false);
                    return new[] { records[0], records[0] };
                },
            },
            cancellationToken);

    /// <summary>A leaf page longer than asked fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_LeafPageLongerThanAsked_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken) =>
        AssertBadAnswerAsync(
            honest => new ScriptedHandler(honest)
            {
                OnLeaves = async (max, token) =>
                {
                    LeavesPage page = await honest.GetLeavesAsync(uint.MaxValue, token).ConfigureAwait(false);
                    var extra = page.Leaves.Concat(Enumerable.Range(100, (int)Math.Min(max, 20_000u) + 1).Select(i => Record(i).Hash)).ToArray();
                    return new LeavesPage(extra, false);
                },
            },
            cancellationToken);

    /// <summary>Records whose bytes do not match their hash are refused one by one: the pass counts them, stores none of them, and keeps the honest ones.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_FetchAnswersForgedBytes_RejectsThemKeepsTheHonestOnes(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        AssertionHash forgedHash = HashesOf(1, 4)[0];
        var scripted = new ScriptedHandler(server.Handler)
        {
            OnFetch = async (hashes, token) =>
            {
                IReadOnlyList<AssertionRecord> records = await server.Handler.FetchAsync(hashes, token).ConfigureAwait(false);
                return records.Select(r => r.Hash == forgedHash ? new AssertionRecord(r.Hash, Record(99).Data, r.Timestamp) : r).ToArray();
            },
        };
        ISyncPeer peer = await PeerAsync(scripted, cancellationToken).ConfigureAwait(false);

        SyncPassResult result = await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false);

        Assert.That(result.Rejected, Is.EqualTo(1));
        Assert.That(result.Fetched, Is.EqualTo(3));
        Assert.That(client.Count, Is.EqualTo(3));
    }

    /// <summary>A handler that fails unexpectedly fails the pass with a <see cref="SyncPeerException"/>; the node stores nothing and syncs normally afterwards.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_HandlerFails_FailsThePassAndTheNodeKeepsWorking(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        var scripted = new ScriptedHandler(server.Handler) { OnFetch = (_, _) => throw new InvalidOperationException("the store is gone") };
        ISyncPeer failing = await PeerAsync(scripted, cancellationToken).ConfigureAwait(false);
        ISyncPeer honest = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(failing, cancellationToken).ConfigureAwait(false));
        Assert.That(client.Count, Is.Zero);
        SyncPassResult result = await client.SyncWithPeerAsync(honest, cancellationToken).ConfigureAwait(false);

        Assert.That(result.Fetched, Is.EqualTo(4));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    private async Task AssertBadAnswerAsync(Func<ISyncRequestHandler, ISyncRequestHandler> hostile, CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(hostile(server.Handler), cancellationToken).ConfigureAwait(false);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse), ex.Message);
        Assert.That(client.Count, Is.Zero);
    }

    /// <summary>A handler that answers like another one except where a test scripts it; it implements no extension but paging, and a scripted stream.</summary>
    private sealed class ScriptedHandler : ISyncRequestHandler
    {
        private readonly ISyncRequestHandler _honest;

        public ScriptedHandler(ISyncRequestHandler honest) => _honest = honest;

        public Func<IReadOnlyList<ReadOnlyMemory<byte>>, CancellationToken, ValueTask<IReadOnlyList<AssertionRecord>>>? OnFetch { get; init; }

        public Func<uint, CancellationToken, ValueTask<LeavesPage>>? OnLeaves { get; init; }

        public Func<ReadOnlyMemory<byte>, ulong, IAsyncEnumerable<ReadOnlyMemory<byte>>>? OnStream { get; init; }

        /// <summary>Runs before <c>Ping</c> and <c>ExchangeRoots</c> are answered honestly: a test holds or fails them here.</summary>
        public Func<SyncRpc, CancellationToken, ValueTask>? OnCall { get; init; }

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
            _honest.GossipAsync(message, cancellationToken);

        public async ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default)
        {
            if (OnCall is { } onCall)
            {
                await onCall(SyncRpc.ExchangeRoots, cancellationToken).ConfigureAwait(false);
            }

            return await _honest.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken).ConfigureAwait(false);
        }

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
            OnLeaves?.Invoke(maxLeaves, cancellationToken) ?? _honest.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
            OnLeaves?.Invoke(maxLeaves, cancellationToken) ?? _honest.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            OnFetch?.Invoke(hashes, cancellationToken) ?? _honest.FetchAsync(hashes, cancellationToken);

        public async ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default)
        {
            if (OnCall is { } onCall)
            {
                await onCall(SyncRpc.Ping, cancellationToken).ConfigureAwait(false);
            }

            return await _honest.PingAsync(callerNodeId, cancellationToken).ConfigureAwait(false);
        }

        public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
            OnStream?.Invoke(startAfter, maxRecords) ?? throw new SyncRequestException(SyncStatusCode.Unimplemented, "StreamAssertions is not scripted.");
    }
}

using System;
using System.Collections.Generic;

namespace StemeDb.Sync;

/// <summary>
/// The limits of the <c>stemedb.sync.v1</c> protocol and of its extensions, defined once. The node, the request
/// handler, every transport adapter and the option validators use these values.
/// </summary>
/// <remarks>See <c>docs/PROTOCOL.md</c> for the wire contract they belong to.</remarks>
public static class SyncProtocol
{
    /// <summary>The most hashes one <c>FetchAssertions</c> call may carry (1,000).</summary>
    public const int MaxFetchHashes = 1000;

    /// <summary>The most leaves one <c>GetLeaves</c> answer carries (10,000); a request for more, or for 0, gets this many.</summary>
    public const int MaxLeavesPerPage = 10_000;

    /// <summary>Extension: the most assertions one <c>GossipBatch</c> call may carry (1,000).</summary>
    public const int MaxGossipBatch = 1000;

    /// <summary>
    /// Extension: the most bytes one <c>StreamAssertions</c> chunk carries (1 MiB, 1,048,576). A chunk is never empty;
    /// the chunks of one call together are one assertion stream (docs/STREAM-FORMAT.md).
    /// </summary>
    public const int MaxStreamChunkBytes = 1024 * 1024;

    /// <summary>
    /// The largest message a peer is assumed to accept (4 MiB, 4,194,304: gRPC's default receive limit, which v1 nodes
    /// keep). A node's answers stay within it, except a fetch of one assertion that is larger by itself; the gRPC
    /// server's own send and receive limits are derived from it.
    /// </summary>
    public const int MaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The message limit a server of a node that accepts assertions of up to <paramref name="maxAssertionBytes"/> needs:
    /// <see cref="MaxMessageBytes"/>, or one such assertion with 64 KiB of framing when that is larger. The gRPC adapter
    /// sets its server's send and receive limits to it.
    /// </summary>
    /// <param name="maxAssertionBytes">The node's <see cref="SyncNodeOptions.MaxAssertionBytes"/>.</param>
    /// <returns>The limit in bytes.</returns>
    public static int MaxMessageBytesFor(int maxAssertionBytes) =>
        (int)Math.Min(int.MaxValue, Math.Max(MaxMessageBytes, (long)maxAssertionBytes + (64 * 1024)));

    /// <summary>The default of <see cref="SyncNodeOptions.MaxAnswerBytes"/>: 3 MiB of assertions per fetch answer.</summary>
    internal const int DefaultMaxAnswerBytes = 3 * 1024 * 1024;

    /// <summary>
    /// The largest accepted <see cref="SyncNodeOptions.MaxAnswerBytes"/>: <see cref="MaxMessageBytes"/> less 512 KiB for
    /// the answer's framing (a hash and a few fields per assertion, up to 1,000 assertions).
    /// </summary>
    internal const int MaxAnswerBytesLimit = MaxMessageBytes - (512 * 1024);

    /// <summary>The length of an assertion hash and of a Merkle root, in bytes (32, BLAKE3).</summary>
    internal const int HashLength = AssertionHash.Length;

    /// <summary>The most peers one <c>GetStatus</c> answer lists (the rest are counted in its total).</summary>
    internal const int MaxStatusPeers = 1000;

    /// <summary>The length of a node id, in bytes (16).</summary>
    internal const int NodeIdLength = NodeId.Length;

    /// <summary>The full name of the gRPC service: <c>stemedb.sync.v1.SyncService</c>.</summary>
    public const string ServiceName = "stemedb.sync.v1.SyncService";

    /// <summary>The number of leaves a <c>GetLeaves</c> request for <paramref name="requested"/> gets: the cap when 0 or above it.</summary>
    /// <param name="requested">The <c>max_leaves</c> of the request.</param>
    /// <returns>Between 1 and <see cref="MaxLeavesPerPage"/>.</returns>
    internal static int LeavesPerPage(ulong requested) =>
        requested == 0 || requested > MaxLeavesPerPage ? MaxLeavesPerPage : (int)requested;

    /// <summary>
    /// The Merkle root a node of this library reports for a set of assertions (<see cref="SyncNode.Root"/>, and in
    /// <c>ExchangeRoots</c>), computed from their hashes alone. Use it to check that a node holds exactly a given set.
    /// The root scheme is this library's, root version 2 of docs/PROTOCOL.md since 0.2.0; an original (v1) node's roots
    /// differ, and so do those of this library's 0.1 releases (root version 1).
    /// </summary>
    /// <param name="hashes">The set's hashes, in any order; repeats count once.</param>
    /// <returns>The root of the set (a fixed value for the empty set).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hashes"/> is <see langword="null"/>.</exception>
    public static AssertionHash ComputeRoot(IEnumerable<AssertionHash> hashes)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var index = new MerkleIndex();
        foreach (AssertionHash hash in hashes)
        {
            index.Add(hash);
        }

        return index.Root;
    }
}

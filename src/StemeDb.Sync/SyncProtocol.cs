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

    /// <summary>The length of an assertion hash and of a Merkle root, in bytes (32, BLAKE3).</summary>
    public const int HashLength = AssertionHash.Length;

    /// <summary>The length of a node id, in bytes (16).</summary>
    public const int NodeIdLength = NodeId.Length;

    /// <summary>The full name of the gRPC service: <c>stemedb.sync.v1.SyncService</c>.</summary>
    public const string ServiceName = "stemedb.sync.v1.SyncService";

    /// <summary>The number of leaves a <c>GetLeaves</c> request for <paramref name="requested"/> gets: the cap when 0 or above it.</summary>
    /// <param name="requested">The <c>max_leaves</c> of the request.</param>
    /// <returns>Between 1 and <see cref="MaxLeavesPerPage"/>.</returns>
    public static int LeavesPerPage(ulong requested) =>
        requested == 0 || requested > MaxLeavesPerPage ? MaxLeavesPerPage : (int)requested;
}

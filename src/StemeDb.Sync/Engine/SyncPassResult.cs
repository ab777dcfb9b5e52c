namespace StemeDb.Sync;

/// <summary>The outcome of one anti-entropy pass with a peer.</summary>
/// <param name="RootsMatched">The roots were equal at the start: nothing was exchanged.</param>
/// <param name="Fetched">Assertions fetched from the peer, verified and newly stored.</param>
/// <param name="Pushed">Assertions the peer lacked that it accepted from this node.</param>
/// <param name="Rejected">Fetched assertions refused by verification (nothing of them was stored).</param>
/// <param name="RoundTrips">Calls made to the peer (exchange, leaves, fetches, pushes).</param>
/// <param name="BytesReceived">Assertion bytes fetched and stored.</param>
/// <param name="BytesSent">Assertion bytes pushed.</param>
/// <param name="Complete">
/// <see langword="true"/> if the diff saw the peer's whole leaf set; <see langword="false"/> when the peer holds
/// more leaves than one v1 GetLeaves answer returns and only the hashes up to its last returned leaf were reconciled.
/// </param>
public readonly record struct SyncPassResult(
    bool RootsMatched,
    int Fetched,
    int Pushed,
    int Rejected,
    int RoundTrips,
    long BytesReceived,
    long BytesSent,
    bool Complete)
{
    /// <summary>
    /// Both nodes' roots and counts were the same as at the start of an earlier pass that found the two sets equal, so
    /// the leaf listing was skipped: one call was made. This is how passes with a peer whose Merkle root scheme is not
    /// this library's (a v1 node: its root never matches) stay cheap while nothing changes.
    /// </summary>
    public bool Unchanged { get; init; }
}

namespace StemeDb.Sync;

/// <summary>The outcome of one anti-entropy pass with a peer.</summary>
public readonly struct SyncPassResult
{
    /// <summary>The roots were equal at the start: nothing was exchanged.</summary>
    public bool RootsMatched { get; internal init; }

    /// <summary>
    /// Both nodes' roots and counts were the same as at the start of an earlier pass that found the two sets equal, so
    /// the leaf listing was skipped: one call was made. This is how passes with a peer whose Merkle root scheme is not
    /// this library's (a v1 node: its root never matches) stay cheap while nothing changes.
    /// </summary>
    public bool Unchanged { get; internal init; }

    /// <summary>
    /// <see langword="true"/> if the diff saw the peer's whole leaf set; <see langword="false"/> when the peer holds
    /// more leaves than one v1 GetLeaves answer returns and only the hashes up to its last returned leaf were reconciled.
    /// </summary>
    public bool Complete { get; internal init; }

    /// <summary>Assertions fetched from the peer (by <c>FetchAssertions</c>, or streamed by <c>StreamAssertions</c>), verified and newly stored.</summary>
    public long Fetched { get; internal init; }

    /// <summary>Assertions the peer lacked that it accepted from this node.</summary>
    public long Pushed { get; internal init; }

    /// <summary>Fetched assertions refused by verification (nothing of them was stored).</summary>
    public long Rejected { get; internal init; }

    /// <summary>Calls made to the peer (exchange, a stream, leaves or reconcile, fetches, pushes); a stream counts as one.</summary>
    public long RoundTrips { get; internal init; }

    /// <summary>Assertion bytes fetched and stored.</summary>
    public long BytesReceived { get; internal init; }

    /// <summary>Assertion bytes pushed.</summary>
    public long BytesSent { get; internal init; }
}

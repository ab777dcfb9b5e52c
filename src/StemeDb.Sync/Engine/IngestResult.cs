namespace StemeDb.Sync;

/// <summary>The outcome of a local ingest: the assertion is stored when this value is returned.</summary>
public readonly struct IngestResult
{
    internal IngestResult(AssertionHash hash, HlcTimestamp timestamp, bool added)
    {
        Hash = hash;
        Timestamp = timestamp;
        Added = added;
    }

    /// <summary>The BLAKE3 hash naming the assertion.</summary>
    public AssertionHash Hash { get; }

    /// <summary>The assertion's HLC timestamp: the new stamp, or the stored one when it was already present.</summary>
    public HlcTimestamp Timestamp { get; }

    /// <summary><see langword="true"/> if the assertion was new; <see langword="false"/> if the store already held it.</summary>
    public bool Added { get; }
}

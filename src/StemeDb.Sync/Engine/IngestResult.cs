namespace StemeDb.Sync;

/// <summary>The outcome of a local ingest: the assertion is stored when this value is returned.</summary>
/// <param name="Hash">The BLAKE3 hash naming the assertion.</param>
/// <param name="Timestamp">The assertion's HLC timestamp: the new stamp, or the stored one when it was already present.</param>
/// <param name="Added"><see langword="true"/> if the assertion was new; <see langword="false"/> if the store already held it.</param>
public readonly record struct IngestResult(AssertionHash Hash, HlcTimestamp Timestamp, bool Added);

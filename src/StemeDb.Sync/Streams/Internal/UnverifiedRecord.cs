using System;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// A record read from an assertion stream and not yet verified: the hash and timestamp it claims and its bytes.
/// <paramref name="Owned"/> says whether <paramref name="Data"/> is a whole array of its own, which a store may keep;
/// otherwise the bytes are borrowed from the reader's buffer and valid only until the reader reads on.
/// </summary>
internal readonly record struct UnverifiedRecord(AssertionHash Hash, HlcTimestamp Timestamp, ReadOnlyMemory<byte> Data, bool Owned);

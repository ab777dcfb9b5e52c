using System;
using System.Globalization;

namespace StemeDb.Sync;

/// <summary>
/// An assertion stream could not be read to its end: it is corrupt or truncated, or a record in it failed verification.
/// <see cref="Offset"/> names the byte where the failing record (or header, or end marker) starts. Nothing unverified
/// was stored; the <see cref="Committed"/> records before it were.
/// </summary>
public sealed class AssertionStreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="offset">The byte offset, from the start of the stream, of the part that failed.</param>
    /// <param name="record">The zero-based index of the record that failed (the count of records before it).</param>
    /// <param name="reason">Why, in a few words without a final period.</param>
    /// <param name="committed">How many records were stored (or accepted by the peer) before the failure.</param>
    /// <param name="innerException">The cause, if any.</param>
    public AssertionStreamException(long offset, long record, string reason, long committed, Exception? innerException = null)
        : base(Describe(offset, record, reason, committed), innerException)
    {
        Offset = offset;
        Record = record;
        Reason = reason;
        Committed = committed;
    }

    /// <summary>The byte offset, from the start of the stream, where the failing record (or the header, or the end marker) starts.</summary>
    public long Offset { get; }

    /// <summary>The zero-based index of the failing record: the number of records in the stream before it.</summary>
    public long Record { get; }

    /// <summary>Why the stream stopped, without the offset.</summary>
    public string Reason { get; }

    /// <summary>How many records were stored (for a push: accepted by the peer) before the failure; they stay stored.</summary>
    public long Committed { get; }

    /// <summary>The same failure, reporting <paramref name="committed"/> records stored before it.</summary>
    internal AssertionStreamException WithCommitted(long committed) => new(Offset, Record, Reason, committed, InnerException);

    private static string Describe(long offset, long record, string reason, long committed) => string.Create(
        CultureInfo.InvariantCulture,
        $"The assertion stream stopped at byte offset {offset} (record {record}): {reason}. {committed} record(s) before it were stored.");
}

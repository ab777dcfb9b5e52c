using System;

namespace StemeDb.Sync;

/// <summary>Why the node refused an assertion offered to it for ingest.</summary>
public enum AssertionRejectionReason
{
    /// <summary>The content validator refused the bytes (for the default validator: not a valid StemeDB <c>Assertion</c> archive).</summary>
    InvalidContent,

    /// <summary>The assertion is larger than <see cref="SyncNodeOptions.MaxAssertionBytes"/>.</summary>
    TooLarge,

    /// <summary>The content validator failed with an exception of its own.</summary>
    ValidatorFailed,
}

/// <summary>
/// The node refused an assertion given to <see cref="SyncNode.IngestAsync"/> or <see cref="SyncNode.IngestManyAsync"/>;
/// nothing was stored (for a batch: none of it). The message says why in one sentence.
/// </summary>
public sealed class AssertionRejectedException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Why the assertion was refused.</param>
    /// <param name="message">The reason, in one sentence.</param>
    /// <param name="index">The position of the refused assertion in a batch, or <see langword="null"/>.</param>
    public AssertionRejectedException(AssertionRejectionReason reason, string message, int? index = null)
        : base(message)
    {
        Reason = reason;
        Index = index;
    }

    /// <summary>Why the assertion was refused.</summary>
    public AssertionRejectionReason Reason { get; }

    /// <summary>The position of the refused assertion in the batch given to <see cref="SyncNode.IngestManyAsync"/>; <see langword="null"/> for a single ingest.</summary>
    public int? Index { get; }
}

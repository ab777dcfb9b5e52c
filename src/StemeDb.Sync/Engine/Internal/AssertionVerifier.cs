using System;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Checks everything received from a peer before it is stored: the drift bound first (cheap, and it must
/// leave the clock unchanged), then the size, then BLAKE3(data) == hash, then the content.
/// </summary>
internal sealed class AssertionVerifier
{
    private readonly IAssertionContentValidator _validator;
    private readonly HybridLogicalClock _clock;
    private readonly int _maxBytes;

    public AssertionVerifier(IAssertionContentValidator validator, HybridLogicalClock clock, int maxBytes)
    {
        _validator = validator;
        _clock = clock;
        _maxBytes = maxBytes;
    }

    /// <summary>
    /// Returns <see langword="null"/> when the assertion may be stored, otherwise the reason it may not. A
    /// <paramref name="timestamp"/> that is <see cref="HlcTimestamp.None"/> (the peer sent none, as a v1 node does) is
    /// resolved here: to the HLC inside the content when the content is a StemeDB <c>Assertion</c>, which then passes
    /// the same drift check as a sent one; otherwise, once every other check has passed, to a new tick of this node's
    /// clock.
    /// </summary>
    public string? Verify(AssertionHash hash, ReadOnlySpan<byte> data, ref HlcTimestamp timestamp)
    {
        bool stampHere = false;
        bool contentValid = false;
        if (timestamp.IsNone)
        {
            ArchivedAssertion content = default;
            bool isAssertion = data.Length <= _maxBytes && ArchivedAssertion.TryAccess(data, out content, out _);
            contentValid = isAssertion && _validator is RkyvAssertionValidator; // the default validator checks exactly this
            if (isAssertion && content.Hlc is { IsNone: false } carried)
            {
                timestamp = carried;
            }
            else
            {
                stampHere = true;
            }
        }

        if (!stampHere && !_clock.IsWithinDrift(timestamp))
        {
            return $"HLC timestamp {timestamp} is more than {(long)_clock.MaxForwardDrift.TotalMilliseconds} ms ahead of local wall time.";
        }

        string? error = contentValid ? null : CheckContent(data)?.Message;
        if (error is not null)
        {
            return error;
        }

        if (!hash.Matches(data))
        {
            return $"Assertion hash {hash} does not match the BLAKE3 hash of its {data.Length} data bytes ({AssertionHash.Compute(data)}).";
        }

        if (stampHere)
        {
            timestamp = _clock.Now();
        }

        return null;
    }

    /// <summary>Whether an assertion of <paramref name="length"/> bytes is within the size limit.</summary>
    public bool IsWithinSize(int length) => length <= _maxBytes;

    /// <summary>Checks size and content only (local ingest, where the hash is computed here); <see langword="null"/> when both pass.</summary>
    public Rejection? CheckContent(ReadOnlySpan<byte> data)
    {
        if (data.Length > _maxBytes)
        {
            return new(AssertionRejectionReason.TooLarge, $"The assertion is {data.Length} bytes; at most {_maxBytes} bytes are accepted.");
        }

        bool valid;
        string? error;
        try
        {
            valid = _validator.TryValidate(data, out error);
        }
#pragma warning disable CA1031 // A validator that throws rejects the bytes; it must not take the node down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new(AssertionRejectionReason.ValidatorFailed, $"Invalid assertion content: the content validator failed ({ex.GetType().Name}: {Sentence(ex.Message)}).");
        }

        return valid ? null : new(AssertionRejectionReason.InvalidContent, $"Invalid assertion content: {Sentence(error ?? "rejected by the content validator")}.");
    }

    /// <summary>A reason to end with our own period: without the one it may end with already.</summary>
    private static string Sentence(string reason) => reason.TrimEnd().TrimEnd('.');
}

/// <summary>Why an assertion offered for ingest is refused, and the sentence that says so.</summary>
internal readonly record struct Rejection(AssertionRejectionReason Reason, string Message);

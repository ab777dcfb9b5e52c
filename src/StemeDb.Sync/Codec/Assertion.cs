using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;

namespace StemeDb.Sync;

/// <summary>
/// An assertion as StemeDB defines it (the Rust struct <c>Assertion</c>): who said what about which subject, when.
/// Immutable; equality is by content. Serialize it with <see cref="AssertionCodec"/>; its hash is the BLAKE3 of those
/// bytes (<see cref="AssertionHash.Compute"/>).
/// </summary>
public sealed class Assertion : IEquatable<Assertion>
{
    /// <summary>Creates an assertion.</summary>
    /// <param name="subject">What the assertion is about, e.g. <c>user:42</c>.</param>
    /// <param name="predicate">The property asserted, e.g. <c>email</c>.</param>
    /// <param name="object">The value asserted.</param>
    /// <param name="hlc">The hybrid logical clock timestamp.</param>
    /// <param name="author">The node that authored the assertion.</param>
    /// <param name="confidence">An optional confidence.</param>
    /// <param name="supersedes">The hash of the assertion this one replaces, if any.</param>
    /// <param name="tags">Tags (none when <see langword="null"/>). The list is copied.</param>
    public Assertion(
        string subject,
        string predicate,
        AssertionValue @object,
        HlcTimestamp hlc,
        NodeId author,
        float? confidence = null,
        AssertionHash? supersedes = null,
        IEnumerable<string>? tags = null)
        : this(
            subject ?? throw new ArgumentNullException(nameof(subject)),
            predicate ?? throw new ArgumentNullException(nameof(predicate)),
            @object ?? throw new ArgumentNullException(nameof(@object)),
            hlc,
            author,
            confidence,
            supersedes,
            CopyTags(tags))
    {
    }

    /// <summary>Creates an assertion that takes ownership of an already validated tag array (used by the decoder).</summary>
    internal Assertion(string subject, string predicate, AssertionValue @object, HlcTimestamp hlc, NodeId author, float? confidence, AssertionHash? supersedes, string[] tags)
    {
        Subject = subject;
        Predicate = predicate;
        Object = @object;
        Hlc = hlc;
        Author = author;
        Confidence = confidence;
        Supersedes = supersedes;
        TagArray = tags;
    }

    private static string[] CopyTags(IEnumerable<string>? tags)
    {
        string[] copy = tags is null ? [] : tags.ToArray();
        foreach (string tag in copy)
        {
            ArgumentNullException.ThrowIfNull(tag, nameof(tags));
        }

        return copy;
    }

    /// <summary>What the assertion is about (<c>subject: String</c>).</summary>
    public string Subject { get; }

    /// <summary>The property asserted (<c>predicate: String</c>).</summary>
    public string Predicate { get; }

    /// <summary>The value asserted (<c>object: Value</c>).</summary>
    public AssertionValue Object { get; }

    /// <summary>The timestamp (<c>hlc: HlcTimestamp { time: u64, counter: u32, node_id: [u8; 16] }</c>).</summary>
    public HlcTimestamp Hlc { get; }

    /// <summary>The author node (<c>author: [u8; 16]</c>).</summary>
    public NodeId Author { get; }

    /// <summary>An optional confidence (<c>confidence: Option&lt;f32&gt;</c>).</summary>
    public float? Confidence { get; }

    /// <summary>The assertion this one replaces (<c>supersedes: Option&lt;[u8; 32]&gt;</c>).</summary>
    public AssertionHash? Supersedes { get; }

    /// <summary>Tags (<c>tags: Vec&lt;String&gt;</c>).</summary>
    public IReadOnlyList<string> Tags => TagArray;

    internal string[] TagArray { get; }

    /// <inheritdoc />
    public bool Equals([NotNullWhen(true)] Assertion? other) =>
        other is not null
        && string.Equals(Subject, other.Subject, StringComparison.Ordinal)
        && string.Equals(Predicate, other.Predicate, StringComparison.Ordinal)
        && Object.Equals(other.Object)
        && Hlc == other.Hlc
        && Author == other.Author
        && ConfidenceEquals(Confidence, other.Confidence)
        && Supersedes == other.Supersedes
        && Tags.SequenceEqual(other.Tags, StringComparer.Ordinal);

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is Assertion other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Subject, Predicate, Object, Hlc, Author, Tags.Count);

    /// <summary>Returns <c>subject predicate object @hlc</c>.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => $"{Subject} {Predicate} {Object} @{Hlc}";

    private static bool ConfidenceEquals(float? a, float? b) =>
        a.HasValue == b.HasValue && (!a.HasValue || BitConverter.SingleToInt32Bits(a.Value) == BitConverter.SingleToInt32Bits(b!.Value));
}

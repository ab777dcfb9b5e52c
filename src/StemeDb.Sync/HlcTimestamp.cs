using System;
using System.Diagnostics.CodeAnalysis;

namespace StemeDb.Sync;

/// <summary>
/// A hybrid logical clock timestamp: physical time in milliseconds since the Unix epoch, a logical
/// counter, and the id of the node that issued it.
/// </summary>
/// <remarks>
/// Timestamps are totally ordered by <see cref="Time"/>, then <see cref="Counter"/>, then
/// <see cref="NodeId"/> (unsigned lexicographic), so two distinct nodes never issue equal timestamps.
/// </remarks>
public readonly struct HlcTimestamp : IEquatable<HlcTimestamp>, IComparable<HlcTimestamp>
{
    /// <summary>Creates a timestamp.</summary>
    /// <param name="time">Milliseconds since the Unix epoch.</param>
    /// <param name="counter">Logical counter.</param>
    /// <param name="nodeId">Issuing node.</param>
    public HlcTimestamp(ulong time, uint counter, NodeId nodeId)
    {
        Time = time;
        Counter = counter;
        NodeId = nodeId;
    }

    /// <summary>
    /// No timestamp: what a record received from a peer carries when the peer sent none (a v1 <c>AssertionData</c>
    /// has only hash and data). Its <see cref="NodeId"/> is <see cref="Sync.NodeId.Empty"/>, which no node issues
    /// timestamps with. A receiving node stamps such a record before storing it: with the HLC inside the content when
    /// the content is a StemeDB <c>Assertion</c>, otherwise with its own clock (<c>docs/PROTOCOL.md</c>, "v1 compatibility").
    /// </summary>
    public static HlcTimestamp None => default;

    /// <summary>Whether this is <see cref="None"/> (issued by no node: its node id is <see cref="Sync.NodeId.Empty"/>).</summary>
    public bool IsNone => NodeId == NodeId.Empty;

    /// <summary>Physical component: milliseconds since the Unix epoch.</summary>
    public ulong Time { get; }

    /// <summary>Logical component, ordering events within one millisecond.</summary>
    public uint Counter { get; }

    /// <summary>The node that issued the timestamp.</summary>
    public NodeId NodeId { get; }

    /// <inheritdoc />
    public int CompareTo(HlcTimestamp other)
    {
        int c = Time.CompareTo(other.Time);
        if (c != 0)
        {
            return c;
        }

        c = Counter.CompareTo(other.Counter);
        return c != 0 ? c : NodeId.CompareTo(other.NodeId);
    }

    /// <inheritdoc />
    public bool Equals(HlcTimestamp other) => Time == other.Time && Counter == other.Counter && NodeId == other.NodeId;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is HlcTimestamp other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Time, Counter, NodeId);

    /// <summary>Returns <c>time.counter@node</c>, e.g. <c>1700000000000.3@0123…</c>.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => $"{Time}.{Counter}@{NodeId}";

    /// <summary>Equality of all three components.</summary>
    public static bool operator ==(HlcTimestamp left, HlcTimestamp right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(HlcTimestamp left, HlcTimestamp right) => !left.Equals(right);

    /// <summary>Total order.</summary>
    public static bool operator <(HlcTimestamp left, HlcTimestamp right) => left.CompareTo(right) < 0;

    /// <summary>Total order.</summary>
    public static bool operator >(HlcTimestamp left, HlcTimestamp right) => left.CompareTo(right) > 0;

    /// <summary>Total order.</summary>
    public static bool operator <=(HlcTimestamp left, HlcTimestamp right) => left.CompareTo(right) <= 0;

    /// <summary>Total order.</summary>
    public static bool operator >=(HlcTimestamp left, HlcTimestamp right) => left.CompareTo(right) >= 0;
}

using System;
using System.Text;
using StemeDb.Sync.Validation;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Builds test assertions.</summary>
internal static class Records
{
    /// <summary>The marker <see cref="MarkerContentValidator"/> requires at the start of valid content.</summary>
    public static ReadOnlySpan<byte> Marker => "ASRT"u8;

    public static AssertionRecord Create(string text, NodeId? node = null, ulong? time = null)
    {
        byte[] data = [.. Marker, .. Encoding.UTF8.GetBytes(text)];
        ulong now = time ?? (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(now, 0, node ?? NodeId.NewId()));
    }

    public static AssertionRecord WithData(byte[] data, NodeId? node = null) =>
        new(AssertionHash.Compute(data), data, new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, node ?? NodeId.NewId()));
}

/// <summary>
/// A content validator for tests: content is valid when it starts with <see cref="Records.Marker"/>. It stands in
/// for the rkyv validator to show that content rejection travels over the wire.
/// </summary>
internal sealed class MarkerContentValidator : IAssertionContentValidator
{
    public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
    {
        if (data.StartsWith(Records.Marker))
        {
            error = null;
            return true;
        }

        error = "the content does not start with the expected archive marker";
        return false;
    }
}

using System;
using System.Buffers;

namespace StemeDb.Sync.Benchmarks;

/// <summary>The assertions the ingest benchmarks load: distinct, realistic, encoded back to back in one buffer.</summary>
internal static class IngestCorpus
{
    /// <summary>
    /// Encodes <paramref name="count"/> assertions (a subject, a predicate, a text value, the HLC, the author and two
    /// tags; about 239 bytes each). Assertion <c>i</c> is <c>buffer[offsets[i]..offsets[i + 1]]</c>.
    /// </summary>
    /// <param name="count">The number of assertions.</param>
    /// <returns>The bytes and the offsets (one more than the count).</returns>
    public static (byte[] Buffer, int[] Offsets) Create(int count)
    {
        var writer = new ArrayBufferWriter<byte>(count * 240);
        int[] offsets = new int[count + 1];
        NodeId author = NodeId.Parse("0123456789abcdef0123456789abcdef");
        string[] tags = { "source:import", "batch:bench" };
        for (int i = 0; i < count; i++)
        {
            var assertion = new Assertion(
                $"user:{i}",
                "email",
                AssertionValue.FromText($"user{i}@example.com"),
                new HlcTimestamp(1_700_000_000_000 + (ulong)i, 0, author),
                author,
                tags: tags);
            AssertionCodec.Encode(assertion, writer);
            offsets[i + 1] = writer.WrittenCount;
        }

        return (writer.WrittenSpan.ToArray(), offsets);
    }

    /// <summary>Each assertion of <see cref="Create"/>'s buffer as its own slice.</summary>
    public static ReadOnlyMemory<byte>[] Slices(byte[] buffer, int[] offsets)
    {
        var slices = new ReadOnlyMemory<byte>[offsets.Length - 1];
        for (int i = 0; i < slices.Length; i++)
        {
            slices[i] = buffer.AsMemory(offsets[i], offsets[i + 1] - offsets[i]);
        }

        return slices;
    }
}

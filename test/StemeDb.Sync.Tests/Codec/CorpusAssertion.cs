using System;
using System.Linq;
using System.Text.Json;

namespace StemeDb.Sync.Tests.Codec;

/// <summary>
/// Reads the <see cref="Assertion"/> of a corpus case from its JSON (serde's shape: structs as objects keyed by Rust
/// field name, byte arrays as hex, <c>Option</c> as <see langword="null"/> or the value, enums externally tagged, NaN
/// and infinities as <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>).
/// </summary>
internal static class CorpusAssertion
{
    public static Assertion FromJson(JsonElement json)
    {
        JsonElement hlc = json.GetProperty("hlc");
        JsonElement confidence = json.GetProperty("confidence");
        JsonElement supersedes = json.GetProperty("supersedes");
        return new Assertion(
            json.GetProperty("subject").GetString()!,
            json.GetProperty("predicate").GetString()!,
            Value(json.GetProperty("object")),
            new HlcTimestamp(hlc.GetProperty("time").GetUInt64(), hlc.GetProperty("counter").GetUInt32(), new NodeId(Hex(hlc.GetProperty("node_id")))),
            new NodeId(Hex(json.GetProperty("author"))),
            confidence.ValueKind == JsonValueKind.Null ? null : Single(confidence),
            supersedes.ValueKind == JsonValueKind.Null ? null : new AssertionHash(Hex(supersedes)),
            json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToList());
    }

    private static AssertionValue Value(JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.String)
        {
            return json.GetString() == "Null" ? AssertionValue.Null : throw new FormatException($"unknown unit variant {json}");
        }

        JsonProperty variant = json.EnumerateObject().Single();
        JsonElement payload = variant.Value;
        return variant.Name switch
        {
            "Bool" => AssertionValue.FromBool(payload.GetBoolean()),
            "Int" => AssertionValue.FromInt(payload.GetInt64()),
            "Float" => AssertionValue.FromFloat(Double(payload)),
            "Text" => AssertionValue.FromText(payload.GetString()!),
            "Bytes" => AssertionValue.FromBytes(Hex(payload)),
            "Ref" => AssertionValue.FromRef(new AssertionHash(Hex(payload))),
            _ => throw new FormatException($"unknown variant {variant.Name}"),
        };
    }

    private static byte[] Hex(JsonElement json) => Convert.FromHexString(json.GetString()!);

    private static float Single(JsonElement json) => json.ValueKind == JsonValueKind.String ? (float)Named(json.GetString()) : json.GetSingle();

    private static double Double(JsonElement json) => json.ValueKind == JsonValueKind.String ? Named(json.GetString()) : json.GetDouble();

    private static double Named(string? text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => throw new FormatException($"not a float: {text}"),
    };
}

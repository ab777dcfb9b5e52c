using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace StemeDb.Sync.Tests.Codec;

/// <summary>Loads the conformance vectors produced by the real rkyv 0.8.16 crate.</summary>
internal static class Corpus
{
    private static readonly Lazy<IReadOnlyList<CorpusCase>> LazyVectors = new(() => Load("vectors.json"));
    private static readonly Lazy<IReadOnlyList<CorpusCase>> LazyInvalid = new(() => Load("invalid.json"));

    public static IReadOnlyList<CorpusCase> Vectors => LazyVectors.Value;

    public static IReadOnlyList<CorpusCase> Invalid => LazyInvalid.Value;

    public static IEnumerable<TestCaseData> VectorCases() =>
        Vectors.Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    public static IEnumerable<TestCaseData> InvalidCases() =>
        Invalid.Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    private static IReadOnlyList<CorpusCase> Load(string file)
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "rkyv", file);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var list = new List<CorpusCase>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            bool valid = !c.TryGetProperty("valid", out JsonElement v) || v.GetBoolean();
            list.Add(new CorpusCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("type").GetString()!,
                Convert.FromHexString(c.GetProperty("bytes").GetString()!),
                c.TryGetProperty("value", out JsonElement value) ? value.Clone() : null,
                valid,
                c.TryGetProperty("error_kind", out JsonElement kind) ? kind.GetString() : null,
                c.TryGetProperty("mutation", out JsonElement m) ? m.GetString() : null));
        }

        return list;
    }
}

/// <summary>One corpus case.</summary>
public sealed record CorpusCase(string Name, string Type, byte[] Bytes, JsonElement? Value, bool Valid, string? ErrorKind, string? Mutation)
{
    public override string ToString() => Name;
}

/// <summary>Maps the corpus' <c>error_kind</c> names to <see cref="RkyvErrorKind"/>.</summary>
internal static class ErrorKinds
{
    public static RkyvErrorKind Parse(string kind) => kind switch
    {
        "subtree_range" => RkyvErrorKind.SubtreeRange,
        "unaligned" => RkyvErrorKind.Unaligned,
        "utf8" => RkyvErrorKind.Utf8,
        "enum_tag" => RkyvErrorKind.EnumTag,
        "bool" => RkyvErrorKind.Bool,
        "char" => RkyvErrorKind.Char,
        "string_repr" => RkyvErrorKind.StringRepr,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown corpus error kind"),
    };
}

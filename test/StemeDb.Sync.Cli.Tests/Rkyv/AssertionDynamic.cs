using System.Collections.Generic;
using System.Linq;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>Converts between <see cref="Assertion"/> and the dynamic value model of <see cref="AssertionSchema.Assertion"/>.</summary>
internal static class AssertionDynamic
{
    public static Dictionary<string, object?> ToDynamic(Assertion a) => new()
    {
        ["subject"] = a.Subject,
        ["predicate"] = a.Predicate,
        ["object"] = a.Object.Kind switch
        {
            AssertionValueKind.Null => new RkyvEnumValue("Null"),
            AssertionValueKind.Bool => new RkyvEnumValue("Bool", a.Object.AsBool()),
            AssertionValueKind.Int => new RkyvEnumValue("Int", a.Object.AsInt()),
            AssertionValueKind.Float => new RkyvEnumValue("Float", a.Object.AsFloat()),
            AssertionValueKind.Text => new RkyvEnumValue("Text", a.Object.AsText()),
            AssertionValueKind.Bytes => new RkyvEnumValue("Bytes", a.Object.AsBytes().ToArray()),
            _ => new RkyvEnumValue("Ref", a.Object.AsRef().ToArray()),
        },
        ["hlc"] = new Dictionary<string, object?>
        {
            ["time"] = a.Hlc.Time,
            ["counter"] = a.Hlc.Counter,
            ["node_id"] = a.Hlc.NodeId.ToArray(),
        },
        ["author"] = a.Author.ToArray(),
        ["confidence"] = a.Confidence,
        ["supersedes"] = a.Supersedes?.ToArray(),
        ["tags"] = a.Tags.Cast<object?>().ToArray(),
    };

    public static Assertion FromDynamic(object? value)
    {
        var map = (IReadOnlyDictionary<string, object?>)value!;
        var obj = (RkyvEnumValue)map["object"]!;
        var hlc = (IReadOnlyDictionary<string, object?>)map["hlc"]!;
        AssertionValue o = obj.Variant switch
        {
            "Null" => AssertionValue.Null,
            "Bool" => AssertionValue.FromBool((bool)obj.Payload!),
            "Int" => AssertionValue.FromInt((long)obj.Payload!),
            "Float" => AssertionValue.FromFloat((double)obj.Payload!),
            "Text" => AssertionValue.FromText((string)obj.Payload!),
            "Bytes" => AssertionValue.FromBytes((byte[])obj.Payload!),
            _ => AssertionValue.FromRef(new AssertionHash((byte[])obj.Payload!)),
        };
        return new Assertion(
            (string)map["subject"]!,
            (string)map["predicate"]!,
            o,
            new HlcTimestamp((ulong)hlc["time"]!, (uint)hlc["counter"]!, new NodeId((byte[])hlc["node_id"]!)),
            new NodeId((byte[])map["author"]!),
            (float?)map["confidence"],
            map["supersedes"] is byte[] s ? new AssertionHash(s) : null,
            ((IReadOnlyList<object?>)map["tags"]!).Cast<string>());
    }
}

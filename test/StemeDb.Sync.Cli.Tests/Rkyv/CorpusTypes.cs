using System.Collections.Generic;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>The Rust types of the conformance corpus (TestData/rkyv/types.rs) described with <see cref="RkyvType"/>.</summary>
internal static class CorpusTypes
{
    public static readonly RkyvType Primitives = RkyvType.Struct(
        "Primitives",
        ("a", RkyvType.U8),
        ("b", RkyvType.I8),
        ("c", RkyvType.U16),
        ("d", RkyvType.I16),
        ("e", RkyvType.U32),
        ("f", RkyvType.I32),
        ("g", RkyvType.U64),
        ("h", RkyvType.I64),
        ("i", RkyvType.F32),
        ("j", RkyvType.F64),
        ("k", RkyvType.Bool),
        ("l", RkyvType.Char));

    public static readonly RkyvType Strings = RkyvType.Struct("Strings", ("items", RkyvType.Vec(RkyvType.String)));

    public static readonly RkyvType Blob = RkyvType.Struct("Blob", ("data", RkyvType.Vec(RkyvType.U8)));

    public static readonly RkyvType Numbers = RkyvType.Struct(
        "Numbers",
        ("small", RkyvType.Vec(RkyvType.U16)),
        ("big", RkyvType.Vec(RkyvType.U64)),
        ("signed", RkyvType.Vec(RkyvType.I32)));

    public static readonly RkyvType Inner = RkyvType.Struct(
        "Inner",
        ("id", RkyvType.U32),
        ("name", RkyvType.String),
        ("flag", RkyvType.Bool));

    public static readonly RkyvType Nested = RkyvType.Struct(
        "Nested",
        ("id", RkyvType.U64),
        ("inner", RkyvType.Vec(Inner)),
        ("first", RkyvType.Option(Inner)),
        ("boxed", RkyvType.Option(RkyvType.Box(Inner))));

    public static readonly RkyvType Opts = RkyvType.Struct(
        "Opts",
        ("a", RkyvType.Option(RkyvType.U8)),
        ("b", RkyvType.Option(RkyvType.U64)),
        ("c", RkyvType.Option(RkyvType.String)),
        ("d", RkyvType.Option(RkyvType.Vec(RkyvType.U32))),
        ("e", RkyvType.Option(RkyvType.Bool)));

    public static readonly RkyvType Point = RkyvType.Struct("Point", ("x", RkyvType.I32), ("y", RkyvType.I32));

    public static readonly RkyvType Shape = RkyvType.Enum(
        "Shape",
        RkyvVariant.Unit("Empty"),
        RkyvVariant.Tuple("Circle", RkyvType.F64),
        RkyvVariant.Struct("Rect", ("w", RkyvType.U32), ("h", RkyvType.U32)),
        RkyvVariant.Tuple("Label", RkyvType.String),
        RkyvVariant.Tuple("Poly", RkyvType.Vec(Point)));

    public static readonly RkyvType Shapes = RkyvType.Struct("Shapes", ("items", RkyvType.Vec(Shape)));

    public static readonly RkyvType Fixed = RkyvType.Struct(
        "Fixed",
        ("hash", RkyvType.Array(RkyvType.U8, 32)),
        ("id", RkyvType.Array(RkyvType.U8, 16)),
        ("pair", RkyvType.Tuple(RkyvType.U8, RkyvType.U32)),
        ("triple", RkyvType.Tuple(RkyvType.U16, RkyvType.Bool, RkyvType.U64)));

    public static readonly RkyvType HlcTimestamp = RkyvType.Struct(
        "HlcTimestamp",
        ("time", RkyvType.U64),
        ("counter", RkyvType.U32),
        ("node_id", RkyvType.Array(RkyvType.U8, 16)));

    public static readonly RkyvType Value = RkyvType.Enum(
        "Value",
        RkyvVariant.Unit("Null"),
        RkyvVariant.Tuple("Bool", RkyvType.Bool),
        RkyvVariant.Tuple("Int", RkyvType.I64),
        RkyvVariant.Tuple("Float", RkyvType.F64),
        RkyvVariant.Tuple("Text", RkyvType.String),
        RkyvVariant.Tuple("Bytes", RkyvType.Vec(RkyvType.U8)),
        RkyvVariant.Tuple("Ref", RkyvType.Array(RkyvType.U8, 32)));

    public static readonly RkyvType Assertion = RkyvType.Struct(
        "Assertion",
        ("subject", RkyvType.String),
        ("predicate", RkyvType.String),
        ("object", Value),
        ("hlc", HlcTimestamp),
        ("author", RkyvType.Array(RkyvType.U8, 16)),
        ("confidence", RkyvType.Option(RkyvType.F32)),
        ("supersedes", RkyvType.Option(RkyvType.Array(RkyvType.U8, 32))),
        ("tags", RkyvType.Vec(RkyvType.String)));

    public static readonly IReadOnlyDictionary<string, RkyvType> ByName = new Dictionary<string, RkyvType>
    {
        ["Primitives"] = Primitives,
        ["Strings"] = Strings,
        ["Blob"] = Blob,
        ["Numbers"] = Numbers,
        ["Inner"] = Inner,
        ["Nested"] = Nested,
        ["Opts"] = Opts,
        ["Point"] = Point,
        ["Shape"] = Shape,
        ["Shapes"] = Shapes,
        ["Fixed"] = Fixed,
        ["HlcTimestamp"] = HlcTimestamp,
        ["Value"] = Value,
        ["Assertion"] = Assertion,
    };
}

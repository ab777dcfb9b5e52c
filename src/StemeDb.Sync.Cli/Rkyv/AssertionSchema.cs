namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// Schema descriptions of StemeDB's own record types, for use with <see cref="RkyvSerializer"/> and
/// <see cref="RkyvJson"/> (for example to print an assertion as JSON). <see cref="AssertionCodec"/> is the fast path
/// for the same format.
/// </summary>
internal static class AssertionSchema
{
    /// <summary><c>struct HlcTimestamp { time: u64, counter: u32, node_id: [u8; 16] }</c> (32 bytes, align 8).</summary>
    public static RkyvType HlcTimestamp { get; } = RkyvType.Struct(
        "HlcTimestamp",
        ("time", RkyvType.U64),
        ("counter", RkyvType.U32),
        ("node_id", RkyvType.Array(RkyvType.U8, 16)));

    /// <summary>
    /// <c>enum Value { Null, Bool(bool), Int(i64), Float(f64), Text(String), Bytes(Vec&lt;u8&gt;), Ref([u8; 32]) }</c>
    /// (40 bytes, align 8).
    /// </summary>
    public static RkyvType Value { get; } = RkyvType.Enum(
        "Value",
        RkyvVariant.Unit("Null"),
        RkyvVariant.Tuple("Bool", RkyvType.Bool),
        RkyvVariant.Tuple("Int", RkyvType.I64),
        RkyvVariant.Tuple("Float", RkyvType.F64),
        RkyvVariant.Tuple("Text", RkyvType.String),
        RkyvVariant.Tuple("Bytes", RkyvType.Vec(RkyvType.U8)),
        RkyvVariant.Tuple("Ref", RkyvType.Array(RkyvType.U8, 32)));

    /// <summary>
    /// <c>struct Assertion { subject: String, predicate: String, object: Value, hlc: HlcTimestamp, author: [u8; 16],
    /// confidence: Option&lt;f32&gt;, supersedes: Option&lt;[u8; 32]&gt;, tags: Vec&lt;String&gt; }</c> (160 bytes, align 8).
    /// </summary>
    public static RkyvType Assertion { get; } = RkyvType.Struct(
        "Assertion",
        ("subject", RkyvType.String),
        ("predicate", RkyvType.String),
        ("object", Value),
        ("hlc", HlcTimestamp),
        ("author", RkyvType.Array(RkyvType.U8, 16)),
        ("confidence", RkyvType.Option(RkyvType.F32)),
        ("supersedes", RkyvType.Option(RkyvType.Array(RkyvType.U8, 32))),
        ("tags", RkyvType.Vec(RkyvType.String)));
}

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>The shape of an enum variant.</summary>
internal enum RkyvVariantKind
{
    /// <summary>A variant without fields, e.g. <c>Empty</c>.</summary>
    Unit,

    /// <summary>A variant with positional fields, e.g. <c>Circle(f64)</c>.</summary>
    Tuple,

    /// <summary>A variant with named fields, e.g. <c>Rect { w: u32, h: u32 }</c>.</summary>
    Struct,
}

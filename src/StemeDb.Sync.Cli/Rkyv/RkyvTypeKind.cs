namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>The kind of an <see cref="RkyvType"/>: which Rust type it describes.</summary>
internal enum RkyvTypeKind
{
    /// <summary><c>u8</c>: one byte.</summary>
    U8,

    /// <summary><c>i8</c>: one byte, two's complement.</summary>
    I8,

    /// <summary><c>u16</c>: little-endian, 2-byte aligned.</summary>
    U16,

    /// <summary><c>i16</c>: little-endian, 2-byte aligned.</summary>
    I16,

    /// <summary><c>u32</c>: little-endian, 4-byte aligned.</summary>
    U32,

    /// <summary><c>i32</c>: little-endian, 4-byte aligned.</summary>
    I32,

    /// <summary><c>u64</c>: little-endian, 8-byte aligned.</summary>
    U64,

    /// <summary><c>i64</c>: little-endian, 8-byte aligned.</summary>
    I64,

    /// <summary><c>f32</c>: IEEE-754 bits, little-endian, 4-byte aligned.</summary>
    F32,

    /// <summary><c>f64</c>: IEEE-754 bits, little-endian, 8-byte aligned.</summary>
    F64,

    /// <summary><c>bool</c>: one byte, 0 or 1.</summary>
    Bool,

    /// <summary><c>char</c>: a Unicode scalar value as a little-endian <c>u32</c>.</summary>
    Char,

    /// <summary><c>String</c>: 8 bytes, inline when at most 8 UTF-8 bytes, otherwise a relative pointer.</summary>
    String,

    /// <summary><c>Vec&lt;T&gt;</c>: a relative pointer and a <c>u32</c> length.</summary>
    Vec,

    /// <summary><c>Option&lt;T&gt;</c>: a <c>u8</c> tag (0 = None, 1 = Some) followed by the aligned payload.</summary>
    Option,

    /// <summary><c>Box&lt;T&gt;</c>: a relative pointer to an archived <c>T</c>.</summary>
    Box,

    /// <summary><c>[T; N]</c>: N archived elements inline.</summary>
    Array,

    /// <summary>A tuple: a C-layout struct of its elements.</summary>
    Tuple,

    /// <summary>A struct with named fields in declaration order, C layout.</summary>
    Struct,

    /// <summary>An enum: a <c>u8</c> tag (the variant index) followed by the variant's fields in C layout.</summary>
    Enum,
}

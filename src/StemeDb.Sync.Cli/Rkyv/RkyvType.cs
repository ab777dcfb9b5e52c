using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StemeDb.Sync.Cli.Rkyv.Internal;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// Describes a Rust type as rkyv 0.8 archives it (little-endian, aligned, 32-bit relative pointers): its kind,
/// archived size and alignment, and the offsets of its fields. Build descriptions of your own record types with the
/// factory members and pass them to <see cref="RkyvSerializer"/> and <see cref="RkyvJson"/>.
/// </summary>
/// <remarks>
/// <para>
/// Instances are immutable and thread-safe; build them once and reuse them. Struct, tuple and variant fields are laid
/// out with C rules (each field at the next multiple of its alignment, alignment = largest field alignment, size rounded
/// up to the alignment), which is what <c>#[derive(Archive)]</c> produces without <c>#[rkyv(...)]</c> attributes.
/// </para>
/// <para>Descriptions cannot be recursive, so the nesting depth of every archive is bounded by its schema.</para>
/// </remarks>
internal sealed class RkyvType
{
    private static readonly RkyvField[] NoFields = [];
    private static readonly RkyvVariant[] NoVariants = [];

    private RkyvType(RkyvTypeKind kind, string name, int size, int alignment)
    {
        Kind = kind;
        Name = name;
        Size = size;
        Alignment = alignment;
        Fields = NoFields;
        Variants = NoVariants;
        NeedsCheck = kind is RkyvTypeKind.Bool or RkyvTypeKind.Char or RkyvTypeKind.String;
        HasDependencies = kind is RkyvTypeKind.String;
    }

    /// <summary><c>u8</c>.</summary>
    public static RkyvType U8 { get; } = new(RkyvTypeKind.U8, "u8", 1, 1);

    /// <summary><c>i8</c>.</summary>
    public static RkyvType I8 { get; } = new(RkyvTypeKind.I8, "i8", 1, 1);

    /// <summary><c>u16</c>.</summary>
    public static RkyvType U16 { get; } = new(RkyvTypeKind.U16, "u16", 2, 2);

    /// <summary><c>i16</c>.</summary>
    public static RkyvType I16 { get; } = new(RkyvTypeKind.I16, "i16", 2, 2);

    /// <summary><c>u32</c>.</summary>
    public static RkyvType U32 { get; } = new(RkyvTypeKind.U32, "u32", 4, 4);

    /// <summary><c>i32</c>.</summary>
    public static RkyvType I32 { get; } = new(RkyvTypeKind.I32, "i32", 4, 4);

    /// <summary><c>u64</c>.</summary>
    public static RkyvType U64 { get; } = new(RkyvTypeKind.U64, "u64", 8, 8);

    /// <summary><c>i64</c>.</summary>
    public static RkyvType I64 { get; } = new(RkyvTypeKind.I64, "i64", 8, 8);

    /// <summary><c>f32</c>.</summary>
    public static RkyvType F32 { get; } = new(RkyvTypeKind.F32, "f32", 4, 4);

    /// <summary><c>f64</c>.</summary>
    public static RkyvType F64 { get; } = new(RkyvTypeKind.F64, "f64", 8, 8);

    /// <summary><c>bool</c>.</summary>
    public static RkyvType Bool { get; } = new(RkyvTypeKind.Bool, "bool", 1, 1);

    /// <summary><c>char</c>.</summary>
    public static RkyvType Char { get; } = new(RkyvTypeKind.Char, "char", 4, 4);

    /// <summary><c>String</c>.</summary>
    public static RkyvType String { get; } = new(RkyvTypeKind.String, "String", 8, 4);

    /// <summary>The kind of type.</summary>
    public RkyvTypeKind Kind { get; }

    /// <summary>A readable name: the Rust spelling for built-in types (<c>Vec&lt;u8&gt;</c>), the given name for structs and enums.</summary>
    public string Name { get; }

    /// <summary>Size of the archived value in bytes.</summary>
    public int Size { get; }

    /// <summary>Alignment of the archived value in bytes (1, 2, 4 or 8 for the built-in types).</summary>
    public int Alignment { get; }

    /// <summary>The element type of a <c>Vec</c>, <c>Option</c>, <c>Box</c> or array; <see langword="null"/> otherwise.</summary>
    public RkyvType? Element { get; private init; }

    /// <summary>The element count of an array (<c>N</c> in <c>[T; N]</c>); 0 otherwise.</summary>
    public int Length { get; private init; }

    /// <summary>The fields of a struct or tuple (tuple fields are named <c>"0"</c>, <c>"1"</c>, …); empty otherwise.</summary>
    public IReadOnlyList<RkyvField> Fields { get; private init; }

    /// <summary>The variants of an enum in tag order; empty otherwise.</summary>
    public IReadOnlyList<RkyvVariant> Variants { get; private init; }

    /// <summary>For <c>Option</c>: the offset of the payload after the tag.</summary>
    internal int PayloadOffset { get; private init; }

    /// <summary>Whether validating a value of this type does any check at all (false for plain numbers and bytes).</summary>
    internal bool NeedsCheck { get; private init; }

    /// <summary>Whether serializing a value of this type writes anything out of line.</summary>
    internal bool HasDependencies { get; private init; }

    internal RkyvField[] FieldArray => (RkyvField[])Fields;

    internal RkyvVariant[] VariantArray => (RkyvVariant[])Variants;

    internal bool IsByte => Kind is RkyvTypeKind.U8;

    /// <summary>Describes <c>Vec&lt;T&gt;</c>.</summary>
    /// <param name="element">The element type.</param>
    /// <returns>The description.</returns>
    /// <exception cref="ArgumentException"><paramref name="element"/> is zero-sized (not supported in a vec).</exception>
    public static RkyvType Vec(RkyvType element)
    {
        ArgumentNullException.ThrowIfNull(element);
        if (element.Size == 0)
        {
            throw new ArgumentException("Vec of a zero-sized type is not supported.", nameof(element));
        }

        return new RkyvType(RkyvTypeKind.Vec, $"Vec<{element.Name}>", 8, 4)
        {
            Element = element,
            NeedsCheck = true,
            HasDependencies = true,
        };
    }

    /// <summary>Describes <c>Box&lt;T&gt;</c>.</summary>
    /// <param name="element">The boxed type.</param>
    /// <returns>The description.</returns>
    public static RkyvType Box(RkyvType element)
    {
        ArgumentNullException.ThrowIfNull(element);
        return new RkyvType(RkyvTypeKind.Box, $"Box<{element.Name}>", 4, 4)
        {
            Element = element,
            NeedsCheck = true,
            HasDependencies = true,
        };
    }

    /// <summary>Describes <c>Option&lt;T&gt;</c> (rkyv's <c>ArchivedOption</c>, without niche optimisation).</summary>
    /// <param name="element">The payload type.</param>
    /// <returns>The description.</returns>
    public static RkyvType Option(RkyvType element)
    {
        ArgumentNullException.ThrowIfNull(element);
        int payload = Layout.AlignUp(1, element.Alignment);
        long size = Layout.AlignUp((long)payload + element.Size, element.Alignment);
        FieldLayout.CheckSize(size);
        return new RkyvType(RkyvTypeKind.Option, $"Option<{element.Name}>", (int)size, element.Alignment)
        {
            Element = element,
            PayloadOffset = payload,
            NeedsCheck = true,
            HasDependencies = element.HasDependencies,
        };
    }

    /// <summary>Describes the fixed-size array <c>[T; N]</c>.</summary>
    /// <param name="element">The element type.</param>
    /// <param name="length">The element count N (zero or more).</param>
    /// <returns>The description.</returns>
    public static RkyvType Array(RkyvType element, int length)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long size = (long)element.Size * length;
        FieldLayout.CheckSize(size);
        return new RkyvType(RkyvTypeKind.Array, $"[{element.Name}; {length.ToString(CultureInfo.InvariantCulture)}]", (int)size, element.Alignment)
        {
            Element = element,
            Length = length,
            NeedsCheck = element.NeedsCheck && length > 0,
            HasDependencies = element.HasDependencies && length > 0,
        };
    }

    /// <summary>Describes a tuple such as <c>(u8, u32)</c>.</summary>
    /// <param name="elements">The element types in order.</param>
    /// <returns>The description.</returns>
    public static RkyvType Tuple(params RkyvType[] elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var named = new (string, RkyvType)[elements.Length];
        for (int i = 0; i < elements.Length; i++)
        {
            named[i] = (i.ToString(CultureInfo.InvariantCulture), elements[i]);
        }

        RkyvField[] fields = FieldLayout.LayOut(named, 0, out int size, out int alignment);
        return new RkyvType(RkyvTypeKind.Tuple, "(" + string.Join(", ", fields.Select(f => f.Type.Name)) + ")", size, alignment)
        {
            Fields = fields,
            NeedsCheck = fields.Any(f => f.Type.NeedsCheck),
            HasDependencies = fields.Any(f => f.Type.HasDependencies),
        };
    }

    /// <summary>Describes a struct with named fields in declaration order.</summary>
    /// <param name="name">The struct name (used in messages and <see cref="Name"/>).</param>
    /// <param name="fields">The fields in declaration order.</param>
    /// <returns>The description.</returns>
    /// <example><c>RkyvType.Struct("Point", ("x", RkyvType.I32), ("y", RkyvType.I32))</c></example>
    public static RkyvType Struct(string name, params (string Name, RkyvType Type)[] fields)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(fields);
        RkyvField[] laidOut = FieldLayout.LayOut(fields, 0, out int size, out int alignment);
        return new RkyvType(RkyvTypeKind.Struct, name, size, alignment)
        {
            Fields = laidOut,
            NeedsCheck = laidOut.Any(f => f.Type.NeedsCheck),
            HasDependencies = laidOut.Any(f => f.Type.HasDependencies),
        };
    }

    /// <summary>Describes an enum; each variant's tag is its position in <paramref name="variants"/>.</summary>
    /// <param name="name">The enum name.</param>
    /// <param name="variants">The variants in declaration order (1 to 256).</param>
    /// <returns>The description.</returns>
    public static RkyvType Enum(string name, params RkyvVariant[] variants)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(variants);
        if (variants.Length is 0 or > 256)
        {
            throw new ArgumentException("An archived enum has between 1 and 256 variants.", nameof(variants));
        }

        var indexed = new RkyvVariant[variants.Length];
        var names = new HashSet<string>(StringComparer.Ordinal);
        int alignment = 1;
        int size = 1;
        for (int i = 0; i < variants.Length; i++)
        {
            RkyvVariant v = variants[i] ?? throw new ArgumentNullException(nameof(variants));
            if (!names.Add(v.Name))
            {
                throw new ArgumentException($"Duplicate variant name '{v.Name}'.", nameof(variants));
            }

            indexed[i] = v.WithIndex(i);
            alignment = Math.Max(alignment, v.Alignment);
            size = Math.Max(size, v.Size);
        }

        long total = Layout.AlignUp((long)size, alignment);
        FieldLayout.CheckSize(total);
        return new RkyvType(RkyvTypeKind.Enum, name, (int)total, alignment)
        {
            Variants = indexed,
            NeedsCheck = true,
            HasDependencies = indexed.Any(v => v.FieldArray.Any(f => f.Type.HasDependencies)),
        };
    }

    /// <summary>Finds a field of a struct or tuple by name.</summary>
    /// <param name="name">The field name.</param>
    /// <returns>The field, or <see langword="null"/> if there is none by that name.</returns>
    public RkyvField? FindField(string name)
    {
        foreach (RkyvField f in FieldArray)
        {
            if (string.Equals(f.Name, name, StringComparison.Ordinal))
            {
                return f;
            }
        }

        return null;
    }

    /// <summary>Finds a variant of an enum by name.</summary>
    /// <param name="name">The variant name.</param>
    /// <returns>The variant, or <see langword="null"/> if there is none by that name.</returns>
    public RkyvVariant? FindVariant(string name)
    {
        foreach (RkyvVariant v in VariantArray)
        {
            if (string.Equals(v.Name, name, StringComparison.Ordinal))
            {
                return v;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

using System;
using System.Collections.Generic;
using StemeDb.Sync.Cli.Rkyv.Internal;

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// One variant of an enum described by <see cref="RkyvType.Enum"/>. Its tag is its declaration index; its fields
/// follow the one-byte tag in C layout.
/// </summary>
internal sealed class RkyvVariant
{
    private RkyvVariant(string name, RkyvVariantKind kind, RkyvField[] fields, int size, int alignment, int index)
    {
        Name = name;
        Kind = kind;
        Fields = fields;
        Size = size;
        Alignment = alignment;
        Index = index;
    }

    /// <summary>The variant name.</summary>
    public string Name { get; }

    /// <summary>Whether the variant is a unit, tuple or struct variant.</summary>
    public RkyvVariantKind Kind { get; }

    /// <summary>The fields with offsets from the start of the enum (the tag is at offset 0).</summary>
    public IReadOnlyList<RkyvField> Fields { get; }

    /// <summary>The tag value: the declaration index within its enum (-1 until the variant is part of an enum).</summary>
    public int Index { get; }

    internal int Size { get; }

    internal int Alignment { get; }

    internal RkyvField[] FieldArray => (RkyvField[])Fields;

    /// <summary>Describes a variant without fields.</summary>
    /// <param name="name">The variant name.</param>
    /// <returns>The variant description.</returns>
    public static RkyvVariant Unit(string name) => Create(name, RkyvVariantKind.Unit, []);

    /// <summary>Describes a variant with positional fields, e.g. <c>Circle(f64)</c>.</summary>
    /// <param name="name">The variant name.</param>
    /// <param name="fields">The field types in order (at least one).</param>
    /// <returns>The variant description.</returns>
    public static RkyvVariant Tuple(string name, params RkyvType[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Length == 0)
        {
            throw new ArgumentException("A tuple variant needs at least one field; use Unit for a variant without fields.", nameof(fields));
        }

        var named = new (string, RkyvType)[fields.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            named[i] = (i.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[i]);
        }

        return Create(name, RkyvVariantKind.Tuple, named);
    }

    /// <summary>Describes a variant with named fields, e.g. <c>Rect { w: u32, h: u32 }</c>.</summary>
    /// <param name="name">The variant name.</param>
    /// <param name="fields">The fields in declaration order (at least one).</param>
    /// <returns>The variant description.</returns>
    public static RkyvVariant Struct(string name, params (string Name, RkyvType Type)[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Length == 0)
        {
            throw new ArgumentException("A struct variant needs at least one field; use Unit for a variant without fields.", nameof(fields));
        }

        return Create(name, RkyvVariantKind.Struct, fields);
    }

    internal RkyvVariant WithIndex(int index) => new(Name, Kind, FieldArray, Size, Alignment, index);

    private static RkyvVariant Create(string name, RkyvVariantKind kind, (string Name, RkyvType Type)[] fields)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);

        // The variant struct is repr(C) { tag: u8, fields... }.
        RkyvField[] laidOut = FieldLayout.LayOut(fields, startOffset: 1, out int size, out int alignment);
        return new RkyvVariant(name, kind, laidOut, size, alignment, -1);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

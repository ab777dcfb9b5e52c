using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv.Internal;

/// <summary>
/// Serializes a dynamic value (see <see cref="RkyvSerializer"/>) in rkyv's order: every object after everything it
/// points to, fields in declaration order, the root last.
/// </summary>
internal static class SchemaWriter
{
    public static int Write(RkyvType type, object? value, IBufferWriter<byte> output)
    {
        var writer = new ArchiveWriter(output);
        Resolved resolved = WriteDependencies(type, value, ref writer, "root");
        writer.Align(type.Alignment);
        int pos = writer.Position;
        Span<byte> span = writer.GetZeroedSpan(type.Size);
        WriteInline(type, value, resolved, span, pos);
        writer.Advance(type.Size);
        return writer.Position;
    }

    /// <summary>Writes the out-of-line parts of <paramref name="value"/> and returns where they went.</summary>
    private static Resolved WriteDependencies(RkyvType type, object? value, ref ArchiveWriter writer, string path)
    {
        switch (type.Kind)
        {
            case RkyvTypeKind.String:
            {
                string s = Expect<string>(value, type, path);
                int count = GetUtf8Count(s, path);
                if (count <= StringRepr.InlineCapacity)
                {
                    return default;
                }

                if (count > StringRepr.MaxOutOfLineLength)
                {
                    throw new ArgumentException($"{path}: a string of {count} UTF-8 bytes is longer than rkyv's limit of {StringRepr.MaxOutOfLineLength}.");
                }

                int pos = writer.Position;
                writer.WriteUtf8(s, count);
                return new Resolved(pos, null);
            }

            case RkyvTypeKind.Vec:
            {
                RkyvType element = type.Element!;
                if (element.IsByte)
                {
                    ReadOnlySpan<byte> bytes = ExpectBytes(value, type, path);
                    int pos = writer.Position;
                    writer.Write(bytes);
                    return new Resolved(pos, null);
                }

                IReadOnlyList<object?> items = Expect<IReadOnlyList<object?>>(value, type, path);
                Resolved[]? children = element.HasDependencies ? new Resolved[items.Count] : null;
                for (int i = 0; i < items.Count; i++)
                {
                    Resolved r = WriteDependencies(element, items[i], ref writer, path + "[" + i + "]");
                    if (children is not null)
                    {
                        children[i] = r;
                    }
                }

                writer.Align(element.Alignment);
                int start = writer.Position;
                for (int i = 0; i < items.Count; i++)
                {
                    int elementPos = writer.Position;
                    Span<byte> span = writer.GetZeroedSpan(element.Size);
                    WriteInline(element, items[i], children is null ? default : children[i], span, elementPos);
                    writer.Advance(element.Size);
                }

                return new Resolved(start, null);
            }

            case RkyvTypeKind.Box:
            {
                RkyvType element = type.Element!;
                Resolved inner = WriteDependencies(element, value, ref writer, path);
                writer.Align(element.Alignment);
                int pos = writer.Position;
                Span<byte> span = writer.GetZeroedSpan(element.Size);
                WriteInline(element, value, inner, span, pos);
                writer.Advance(element.Size);
                return new Resolved(pos, null);
            }

            case RkyvTypeKind.Option:
            {
                if (value is null)
                {
                    return default;
                }

                Resolved inner = WriteDependencies(type.Element!, value, ref writer, path);
                return type.HasDependencies ? new Resolved(0, [inner]) : default;
            }

            case RkyvTypeKind.Array:
            {
                RkyvType element = type.Element!;
                if (element.IsByte)
                {
                    int length = ExpectBytes(value, type, path).Length;
                    if (length != type.Length)
                    {
                        throw new ArgumentException($"{path}: {type.Name} needs exactly {type.Length} bytes but got {length}.");
                    }

                    return default;
                }

                IReadOnlyList<object?> items = ExpectCount(value, type, type.Length, path);
                Resolved[]? children = type.HasDependencies ? new Resolved[items.Count] : null;
                for (int i = 0; i < items.Count; i++)
                {
                    Resolved r = WriteDependencies(element, items[i], ref writer, path + "[" + i + "]");
                    if (children is not null)
                    {
                        children[i] = r;
                    }
                }

                return new Resolved(0, children);
            }

            case RkyvTypeKind.Tuple:
            case RkyvTypeKind.Struct:
                return new Resolved(0, WriteFieldDependencies(type.FieldArray, GetFieldValues(type, value, path), type.HasDependencies, ref writer, path));

            case RkyvTypeKind.Enum:
            {
                (RkyvVariant variant, object?[] values) = GetVariant(type, value, path);
                return new Resolved(0, WriteFieldDependencies(variant.FieldArray, values, type.HasDependencies, ref writer, path + "." + variant.Name));
            }

            default:
                CheckPrimitive(type, value, path);
                return default;
        }
    }

    /// <summary>Checks a leaf value here, where its path is known, so that writing it later cannot fail.</summary>
    private static void CheckPrimitive(RkyvType type, object? value, string path)
    {
        bool ok = type.Kind switch
        {
            RkyvTypeKind.U8 => value is byte,
            RkyvTypeKind.I8 => value is sbyte,
            RkyvTypeKind.U16 => value is ushort,
            RkyvTypeKind.I16 => value is short,
            RkyvTypeKind.U32 => value is uint,
            RkyvTypeKind.I32 => value is int,
            RkyvTypeKind.U64 => value is ulong,
            RkyvTypeKind.I64 => value is long,
            RkyvTypeKind.F32 => value is float,
            RkyvTypeKind.F64 => value is double,
            RkyvTypeKind.Bool => value is bool,
            RkyvTypeKind.Char => value is Rune,
            _ => throw new InvalidOperationException($"Unknown type kind {type.Kind}."),
        };
        if (!ok)
        {
            throw Mismatch(value, type, PrimitiveClrName(type.Kind), path);
        }
    }

    private static string PrimitiveClrName(RkyvTypeKind kind) => kind switch
    {
        RkyvTypeKind.U8 => "byte",
        RkyvTypeKind.I8 => "sbyte",
        RkyvTypeKind.U16 => "ushort",
        RkyvTypeKind.I16 => "short",
        RkyvTypeKind.U32 => "uint",
        RkyvTypeKind.I32 => "int",
        RkyvTypeKind.U64 => "ulong",
        RkyvTypeKind.I64 => "long",
        RkyvTypeKind.F32 => "float",
        RkyvTypeKind.F64 => "double",
        RkyvTypeKind.Bool => "bool",
        _ => "System.Text.Rune",
    };

    private static Resolved[]? WriteFieldDependencies(RkyvField[] fields, object?[] values, bool keep, ref ArchiveWriter writer, string path)
    {
        Resolved[]? children = keep ? new Resolved[fields.Length] : null;
        for (int i = 0; i < fields.Length; i++)
        {
            Resolved r = WriteDependencies(fields[i].Type, values[i], ref writer, path + "." + fields[i].Name);
            if (children is not null)
            {
                children[i] = r;
            }
        }

        return children;
    }

    /// <summary>Writes the archived bytes of <paramref name="value"/> into <paramref name="dest"/> (zeroed, exactly its size) at archive position <paramref name="pos"/>.</summary>
    private static void WriteInline(RkyvType type, object? value, Resolved resolved, Span<byte> dest, int pos)
    {
        const string path = "value";
        switch (type.Kind)
        {
            case RkyvTypeKind.U8:
                dest[0] = Expect<byte>(value, type, path);
                break;
            case RkyvTypeKind.I8:
                dest[0] = unchecked((byte)Expect<sbyte>(value, type, path));
                break;
            case RkyvTypeKind.U16:
                BinaryPrimitives.WriteUInt16LittleEndian(dest, Expect<ushort>(value, type, path));
                break;
            case RkyvTypeKind.I16:
                BinaryPrimitives.WriteInt16LittleEndian(dest, Expect<short>(value, type, path));
                break;
            case RkyvTypeKind.U32:
                BinaryPrimitives.WriteUInt32LittleEndian(dest, Expect<uint>(value, type, path));
                break;
            case RkyvTypeKind.I32:
                BinaryPrimitives.WriteInt32LittleEndian(dest, Expect<int>(value, type, path));
                break;
            case RkyvTypeKind.U64:
                BinaryPrimitives.WriteUInt64LittleEndian(dest, Expect<ulong>(value, type, path));
                break;
            case RkyvTypeKind.I64:
                BinaryPrimitives.WriteInt64LittleEndian(dest, Expect<long>(value, type, path));
                break;
            case RkyvTypeKind.F32:
                BinaryPrimitives.WriteInt32LittleEndian(dest, BitConverter.SingleToInt32Bits(Expect<float>(value, type, path)));
                break;
            case RkyvTypeKind.F64:
                BinaryPrimitives.WriteInt64LittleEndian(dest, BitConverter.DoubleToInt64Bits(Expect<double>(value, type, path)));
                break;
            case RkyvTypeKind.Bool:
                dest[0] = Expect<bool>(value, type, path) ? (byte)1 : (byte)0;
                break;
            case RkyvTypeKind.Char:
                BinaryPrimitives.WriteUInt32LittleEndian(dest, (uint)Expect<Rune>(value, type, path).Value);
                break;
            case RkyvTypeKind.String:
            {
                string s = (string)value!;
                int count = Utf8Strict.Encoding.GetByteCount(s);
                if (count <= StringRepr.InlineCapacity)
                {
                    dest[..StringRepr.InlineCapacity].Fill(0xFF);
                    Utf8Strict.Encoding.GetBytes(s, dest);
                }
                else
                {
                    StringRepr.WriteOutOfLine(dest, count, pos, resolved.Position);
                }

                break;
            }

            case RkyvTypeKind.Vec:
            {
                int count = type.Element!.IsByte ? ExpectBytes(value, type, path).Length : ((IReadOnlyList<object?>)value!).Count;
                BinaryPrimitives.WriteInt32LittleEndian(dest, resolved.Position - pos);
                BinaryPrimitives.WriteUInt32LittleEndian(dest[4..], (uint)count);
                break;
            }

            case RkyvTypeKind.Box:
                BinaryPrimitives.WriteInt32LittleEndian(dest, resolved.Position - pos);
                break;

            case RkyvTypeKind.Option:
                if (value is not null)
                {
                    RkyvType element = type.Element!;
                    dest[0] = 1;
                    WriteInline(element, value, resolved.Children is null ? default : resolved.Children[0], dest.Slice(type.PayloadOffset, element.Size), pos + type.PayloadOffset);
                }

                break;

            case RkyvTypeKind.Array:
            {
                RkyvType element = type.Element!;
                if (element.IsByte)
                {
                    ReadOnlySpan<byte> bytes = ExpectBytes(value, type, path);
                    if (bytes.Length != type.Length)
                    {
                        throw new ArgumentException($"{type.Name} needs exactly {type.Length} bytes but got {bytes.Length}.");
                    }

                    bytes.CopyTo(dest);
                    break;
                }

                IReadOnlyList<object?> items = ExpectCount(value, type, type.Length, path);
                for (int i = 0; i < items.Count; i++)
                {
                    int offset = i * element.Size;
                    WriteInline(element, items[i], resolved.Children is null ? default : resolved.Children[i], dest.Slice(offset, element.Size), pos + offset);
                }

                break;
            }

            case RkyvTypeKind.Tuple:
            case RkyvTypeKind.Struct:
                WriteFields(type.FieldArray, GetFieldValues(type, value, path), resolved, dest, pos);
                break;

            case RkyvTypeKind.Enum:
            {
                (RkyvVariant variant, object?[] values) = GetVariant(type, value, path);
                dest[0] = (byte)variant.Index;
                WriteFields(variant.FieldArray, values, resolved, dest, pos);
                break;
            }

            default:
                throw new InvalidOperationException($"Unknown type kind {type.Kind}.");
        }
    }

    private static void WriteFields(RkyvField[] fields, object?[] values, Resolved resolved, Span<byte> dest, int pos)
    {
        for (int i = 0; i < fields.Length; i++)
        {
            RkyvField f = fields[i];
            WriteInline(f.Type, values[i], resolved.Children is null ? default : resolved.Children[i], dest.Slice(f.Offset, f.Type.Size), pos + f.Offset);
        }
    }

    private static int GetUtf8Count(string s, string path)
    {
        try
        {
            return Utf8Strict.Encoding.GetByteCount(s);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException($"{path}: the string holds a lone surrogate, which a Rust String cannot represent.", ex);
        }
    }

    private static object?[] GetFieldValues(RkyvType type, object? value, string path)
    {
        RkyvField[] fields = type.FieldArray;
        if (type.Kind == RkyvTypeKind.Tuple)
        {
            IReadOnlyList<object?> items = ExpectCount(value, type, fields.Length, path);
            var result = new object?[items.Count];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = items[i];
            }

            return result;
        }

        return GetNamed(fields, Expect<IReadOnlyDictionary<string, object?>>(value, type, path), type.Name, path);
    }

    private static object?[] GetNamed(RkyvField[] fields, IReadOnlyDictionary<string, object?> map, string owner, string path)
    {
        if (map.Count != fields.Length)
        {
            throw new ArgumentException($"{path}: {owner} has {fields.Length} fields but the value has {map.Count}.");
        }

        var result = new object?[fields.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            if (!map.TryGetValue(fields[i].Name, out result[i]))
            {
                throw new ArgumentException($"{path}: the value has no field '{fields[i].Name}' of {owner}.");
            }
        }

        return result;
    }

    private static (RkyvVariant Variant, object?[] Values) GetVariant(RkyvType type, object? value, string path)
    {
        RkyvEnumValue e = Expect<RkyvEnumValue>(value, type, path);
        RkyvVariant variant = type.FindVariant(e.Variant)
            ?? throw new ArgumentException($"{path}: {type.Name} has no variant '{e.Variant}'.");
        RkyvField[] fields = variant.FieldArray;
        switch (variant.Kind)
        {
            case RkyvVariantKind.Unit:
                if (e.Payload is not null)
                {
                    throw new ArgumentException($"{path}: unit variant {type.Name}::{variant.Name} takes no payload.");
                }

                return (variant, []);
            case RkyvVariantKind.Tuple when fields.Length == 1:
                return (variant, [e.Payload]);
            case RkyvVariantKind.Tuple:
            {
                IReadOnlyList<object?> items = ExpectCount(e.Payload, type, fields.Length, path);
                var values = new object?[items.Count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = items[i];
                }

                return (variant, values);
            }

            default:
                return (variant, GetNamed(fields, Expect<IReadOnlyDictionary<string, object?>>(e.Payload, type, path), type.Name + "::" + variant.Name, path));
        }
    }

    private static IReadOnlyList<object?> ExpectCount(object? value, RkyvType type, int count, string path)
    {
        IReadOnlyList<object?> items = Expect<IReadOnlyList<object?>>(value, type, path);
        if (items.Count != count)
        {
            throw new ArgumentException($"{path}: {type.Name} needs exactly {count} elements but got {items.Count}.");
        }

        return items;
    }

    private static ReadOnlySpan<byte> ExpectBytes(object? value, RkyvType type, string path) => value switch
    {
        byte[] array => array,
        ReadOnlyMemory<byte> memory => memory.Span,
        Memory<byte> memory => memory.Span,
        _ => throw Mismatch(value, type, "byte[]", path),
    };

    private static T Expect<T>(object? value, RkyvType type, string path) =>
        value is T t ? t : throw Mismatch(value, type, typeof(T).Name, path);

    private static ArgumentException Mismatch(object? value, RkyvType type, string expected, string path) =>
        new($"{path}: {type.Name} needs a {expected} value but got {(value is null ? "null" : value.GetType().Name)}.");

    /// <summary>Where a value's out-of-line parts were written: a position (string bytes, vec elements, box target) and/or the resolutions of its parts.</summary>
    private readonly struct Resolved
    {
        public Resolved(int position, Resolved[]? children)
        {
            Position = position;
            Children = children;
        }

        public int Position { get; }

        public Resolved[]? Children { get; }
    }
}

using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv.Internal;

/// <summary>Decodes an archive that <see cref="SchemaValidator"/> accepted into the dynamic value model.</summary>
internal static class SchemaReader
{
    public static object? Read(RkyvType type, ReadOnlySpan<byte> buffer, int pos)
    {
        switch (type.Kind)
        {
            case RkyvTypeKind.U8:
                return buffer[pos];
            case RkyvTypeKind.I8:
                return unchecked((sbyte)buffer[pos]);
            case RkyvTypeKind.U16:
                return BinaryPrimitives.ReadUInt16LittleEndian(buffer[pos..]);
            case RkyvTypeKind.I16:
                return BinaryPrimitives.ReadInt16LittleEndian(buffer[pos..]);
            case RkyvTypeKind.U32:
                return BinaryPrimitives.ReadUInt32LittleEndian(buffer[pos..]);
            case RkyvTypeKind.I32:
                return BinaryPrimitives.ReadInt32LittleEndian(buffer[pos..]);
            case RkyvTypeKind.U64:
                return BinaryPrimitives.ReadUInt64LittleEndian(buffer[pos..]);
            case RkyvTypeKind.I64:
                return BinaryPrimitives.ReadInt64LittleEndian(buffer[pos..]);
            case RkyvTypeKind.F32:
                return BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(buffer[pos..]));
            case RkyvTypeKind.F64:
                return BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(buffer[pos..]));
            case RkyvTypeKind.Bool:
                return buffer[pos] != 0;
            case RkyvTypeKind.Char:
                return new Rune((int)BinaryPrimitives.ReadUInt32LittleEndian(buffer[pos..]));
            case RkyvTypeKind.String:
                return Encoding.UTF8.GetString(StringRepr.Read(buffer, pos));
            case RkyvTypeKind.Vec:
            {
                RkyvType element = type.Element!;
                int start = pos + BinaryPrimitives.ReadInt32LittleEndian(buffer[pos..]);
                int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer[(pos + 4)..]);
                if (element.IsByte)
                {
                    return buffer.Slice(start, count).ToArray();
                }

                var items = new object?[count];
                for (int i = 0; i < items.Length; i++)
                {
                    items[i] = Read(element, buffer, start + (i * element.Size));
                }

                return items;
            }

            case RkyvTypeKind.Box:
                return Read(type.Element!, buffer, pos + BinaryPrimitives.ReadInt32LittleEndian(buffer[pos..]));
            case RkyvTypeKind.Option:
                return buffer[pos] == 0 ? null : Read(type.Element!, buffer, pos + type.PayloadOffset);
            case RkyvTypeKind.Array:
            {
                RkyvType element = type.Element!;
                if (element.IsByte)
                {
                    return buffer.Slice(pos, type.Length).ToArray();
                }

                var items = new object?[type.Length];
                for (int i = 0; i < items.Length; i++)
                {
                    items[i] = Read(element, buffer, pos + (i * element.Size));
                }

                return items;
            }

            case RkyvTypeKind.Tuple:
            {
                RkyvField[] fields = type.FieldArray;
                var items = new object?[fields.Length];
                for (int i = 0; i < items.Length; i++)
                {
                    items[i] = Read(fields[i].Type, buffer, pos + fields[i].Offset);
                }

                return items;
            }

            case RkyvTypeKind.Struct:
                return ReadNamed(type.FieldArray, buffer, pos);
            case RkyvTypeKind.Enum:
            {
                RkyvVariant variant = type.VariantArray[buffer[pos]];
                RkyvField[] fields = variant.FieldArray;
                object? payload = variant.Kind switch
                {
                    RkyvVariantKind.Unit => null,
                    RkyvVariantKind.Tuple when fields.Length == 1 => Read(fields[0].Type, buffer, pos + fields[0].Offset),
                    RkyvVariantKind.Tuple => ReadPositional(fields, buffer, pos),
                    _ => ReadNamed(fields, buffer, pos),
                };
                return new RkyvEnumValue(variant.Name, payload);
            }

            default:
                throw new InvalidOperationException($"Unknown type kind {type.Kind}.");
        }
    }

    private static object?[] ReadPositional(RkyvField[] fields, ReadOnlySpan<byte> buffer, int pos)
    {
        var items = new object?[fields.Length];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = Read(fields[i].Type, buffer, pos + fields[i].Offset);
        }

        return items;
    }

    private static Dictionary<string, object?> ReadNamed(RkyvField[] fields, ReadOnlySpan<byte> buffer, int pos)
    {
        var map = new Dictionary<string, object?>(fields.Length, StringComparer.Ordinal);
        foreach (RkyvField f in fields)
        {
            map.Add(f.Name, Read(f.Type, buffer, pos + f.Offset));
        }

        return map;
    }
}

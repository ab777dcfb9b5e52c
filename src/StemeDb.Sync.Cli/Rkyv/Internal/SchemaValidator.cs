using System;
using System.Buffers.Binary;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv.Internal;

/// <summary>
/// Schema-driven equivalent of rkyv's <c>access</c> with bytecheck. Recursion follows the schema, which cannot be
/// recursive, so depth is bounded by the schema; loops are bounded by lengths already checked against the buffer.
/// </summary>
internal static class SchemaValidator
{
    public static bool TryValidate(RkyvType type, ReadOnlySpan<byte> buffer, out int rootPosition, out RkyvError error)
    {
        var v = new ArchiveValidator(buffer);
        if (!v.PushRoot(type.Size, type.Alignment, out rootPosition, out long end, out long savedHi) || !Check(type, ref v, rootPosition))
        {
            error = v.Error;
            return false;
        }

        v.Pop(end, savedHi);
        error = default;
        return true;
    }

    private static bool Check(RkyvType type, ref ArchiveValidator v, int pos)
    {
        switch (type.Kind)
        {
            case RkyvTypeKind.Bool:
                return v.CheckBool(pos);
            case RkyvTypeKind.Char:
                return v.CheckChar(pos);
            case RkyvTypeKind.String:
                return v.CheckString(pos);
            case RkyvTypeKind.Vec:
            {
                RkyvType element = type.Element!;
                if (!v.PushVec(pos, element.Size, element.Alignment, out int start, out int count, out long end, out long savedHi))
                {
                    return false;
                }

                if (element.NeedsCheck)
                {
                    for (int i = 0; i < count; i++)
                    {
                        if (!Check(element, ref v, start + (i * element.Size)))
                        {
                            return false;
                        }
                    }
                }

                v.Pop(end, savedHi);
                return true;
            }

            case RkyvTypeKind.Box:
            {
                RkyvType element = type.Element!;
                long target = pos + (long)BinaryPrimitives.ReadInt32LittleEndian(v.Buffer.Slice(pos, 4));
                if (!v.Push(target, element.Size, element.Alignment, out long end, out long savedHi) || !Check(element, ref v, (int)target))
                {
                    return false;
                }

                v.Pop(end, savedHi);
                return true;
            }

            case RkyvTypeKind.Option:
                return v.Buffer[pos] switch
                {
                    0 => true,
                    1 => Check(type.Element!, ref v, pos + type.PayloadOffset),
                    _ => v.Fail(RkyvErrorKind.EnumTag, pos),
                };

            case RkyvTypeKind.Array:
                if (type.NeedsCheck)
                {
                    RkyvType element = type.Element!;
                    for (int i = 0; i < type.Length; i++)
                    {
                        if (!Check(element, ref v, pos + (i * element.Size)))
                        {
                            return false;
                        }
                    }
                }

                return true;

            case RkyvTypeKind.Tuple:
            case RkyvTypeKind.Struct:
                return !type.NeedsCheck || CheckFields(type.FieldArray, ref v, pos);

            case RkyvTypeKind.Enum:
            {
                RkyvVariant[] variants = type.VariantArray;
                int tag = v.Buffer[pos];
                return tag < variants.Length
                    ? CheckFields(variants[tag].FieldArray, ref v, pos)
                    : v.Fail(RkyvErrorKind.EnumTag, pos);
            }

            default:
                return true;
        }
    }

    private static bool CheckFields(RkyvField[] fields, ref ArchiveValidator v, int pos)
    {
        foreach (RkyvField f in fields)
        {
            if (f.Type.NeedsCheck && !Check(f.Type, ref v, pos + f.Offset))
            {
                return false;
            }
        }

        return true;
    }
}

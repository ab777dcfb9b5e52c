using System;
using System.Collections.Generic;
using System.Text;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Tests.Codec;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>Generates random dynamic values for any <see cref="RkyvType"/>.</summary>
internal static class RandomValues
{
    public static object? Next(RkyvType type, Random rng) => type.Kind switch
    {
        RkyvTypeKind.U8 => (byte)rng.Next(256),
        RkyvTypeKind.I8 => (sbyte)rng.Next(-128, 128),
        RkyvTypeKind.U16 => (ushort)rng.Next(65536),
        RkyvTypeKind.I16 => (short)rng.Next(-32768, 32768),
        RkyvTypeKind.U32 => (uint)rng.NextInt64(0, 1L << 32),
        RkyvTypeKind.I32 => rng.Next(int.MinValue, int.MaxValue),
        RkyvTypeKind.U64 => (ulong)rng.NextInt64(long.MinValue, long.MaxValue),
        RkyvTypeKind.I64 => rng.NextInt64(long.MinValue, long.MaxValue),
        RkyvTypeKind.F32 => BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue)),
        RkyvTypeKind.F64 => BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue)),
        RkyvTypeKind.Bool => rng.Next(2) == 1,
        RkyvTypeKind.Char => RandomRune(rng),
        RkyvTypeKind.String => Samples.Text(rng),
        RkyvTypeKind.Vec when type.Element!.IsByte => Samples.Bytes(rng, rng.Next(3) == 0 ? 0 : rng.Next(40)),
        RkyvTypeKind.Vec => List(type.Element!, rng.Next(3) == 0 ? 0 : rng.Next(6), rng),
        RkyvTypeKind.Array when type.Element!.IsByte => Samples.Bytes(rng, type.Length),
        RkyvTypeKind.Array => List(type.Element!, type.Length, rng),
        RkyvTypeKind.Option => rng.Next(2) == 0 ? null : Next(type.Element!, rng),
        RkyvTypeKind.Box => Next(type.Element!, rng),
        RkyvTypeKind.Tuple => Fields(type.Fields, rng).Values is var v ? new List<object?>(v) : null,
        RkyvTypeKind.Struct => Fields(type.Fields, rng),
        RkyvTypeKind.Enum => Variant(type, rng),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static Rune RandomRune(Random rng)
    {
        while (true)
        {
            int value = rng.Next(4) == 0 ? rng.Next(0x80) : rng.Next(0x110000);
            if (Rune.IsValid(value))
            {
                return new Rune(value);
            }
        }
    }

    private static object?[] List(RkyvType element, int count, Random rng)
    {
        var items = new object?[count];
        for (int i = 0; i < count; i++)
        {
            items[i] = Next(element, rng);
        }

        return items;
    }

    private static Dictionary<string, object?> Fields(IReadOnlyList<RkyvField> fields, Random rng)
    {
        var map = new Dictionary<string, object?>();
        foreach (RkyvField f in fields)
        {
            map[f.Name] = Next(f.Type, rng);
        }

        return map;
    }

    private static RkyvEnumValue Variant(RkyvType type, Random rng)
    {
        RkyvVariant v = type.Variants[rng.Next(type.Variants.Count)];
        return v.Kind switch
        {
            RkyvVariantKind.Unit => new RkyvEnumValue(v.Name),
            RkyvVariantKind.Tuple when v.Fields.Count == 1 => new RkyvEnumValue(v.Name, Next(v.Fields[0].Type, rng)),
            RkyvVariantKind.Tuple => new RkyvEnumValue(v.Name, new List<object?>(Fields(v.Fields, rng).Values)),
            _ => new RkyvEnumValue(v.Name, Fields(v.Fields, rng)),
        };
    }
}

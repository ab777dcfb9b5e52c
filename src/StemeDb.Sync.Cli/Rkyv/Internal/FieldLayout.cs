using System;
using System.Collections.Generic;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv.Internal;

/// <summary>Lays out the fields of a struct, tuple or enum variant by the C layout rules (repr(C)) rkyv derives.</summary>
internal static class FieldLayout
{
    /// <summary>The largest archived object size the schema model accepts.</summary>
    public const int MaxSize = int.MaxValue / 2;

    public static RkyvField[] LayOut((string Name, RkyvType Type)[] fields, int startOffset, out int size, out int alignment)
    {
        var result = new RkyvField[fields.Length];
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = startOffset;
        alignment = 1;
        for (int i = 0; i < fields.Length; i++)
        {
            (string name, RkyvType type) = fields[i];
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(fields));
            ArgumentNullException.ThrowIfNull(type, nameof(fields));
            if (!names.Add(name))
            {
                throw new ArgumentException($"Duplicate field name '{name}'.", nameof(fields));
            }

            offset = Layout.AlignUp(offset, type.Alignment);
            result[i] = new RkyvField(name, type, (int)offset);
            offset += type.Size;
            alignment = Math.Max(alignment, type.Alignment);
            CheckSize(offset);
        }

        long rounded = Layout.AlignUp(offset, alignment);
        CheckSize(rounded);
        size = (int)rounded;
        return result;
    }

    public static void CheckSize(long size)
    {
        if (size > MaxSize)
        {
            throw new ArgumentException($"The archived type would be {size} bytes; at most {MaxSize} bytes are supported.");
        }
    }
}

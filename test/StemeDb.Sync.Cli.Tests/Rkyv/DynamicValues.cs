using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Tests.Rkyv;

/// <summary>Structural comparison of dynamic values (floats bit for bit, so -0.0 and NaN payloads count).</summary>
internal static class DynamicValues
{
    public static void AssertEqual(object? expected, object? actual, string path = "root", bool anyNaN = false)
    {
        string? difference = Difference(expected, actual, path, anyNaN);
        Assert.That(difference, Is.Null, difference);
    }

    public static string? Difference(object? expected, object? actual, string path, bool anyNaN = false)
    {
        switch (expected)
        {
            case null:
                return actual is null ? null : $"{path}: expected null, got {actual}";
            case float f:
                return actual is float g && ((anyNaN && float.IsNaN(f) && float.IsNaN(g)) || BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits(g)) ? null : $"{path}: expected {f:R}, got {actual}";
            case double d:
                return actual is double e && ((anyNaN && double.IsNaN(d) && double.IsNaN(e)) || BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits(e)) ? null : $"{path}: expected {d:R}, got {actual}";
            case byte[] bytes:
                return actual is byte[] other && bytes.AsSpan().SequenceEqual(other) ? null : $"{path}: expected bytes {Convert.ToHexString(bytes)}, got {Describe(actual)}";
            case string s:
                return actual is string t && s == t ? null : $"{path}: expected \"{s}\", got {Describe(actual)}";
            case RkyvEnumValue ev:
                if (actual is not RkyvEnumValue av || av.Variant != ev.Variant)
                {
                    return $"{path}: expected variant {ev.Variant}, got {Describe(actual)}";
                }

                return Difference(ev.Payload, av.Payload, path + "." + ev.Variant, anyNaN);
            case IReadOnlyDictionary<string, object?> map:
                if (actual is not IReadOnlyDictionary<string, object?> actualMap || actualMap.Count != map.Count)
                {
                    return $"{path}: expected a struct of {map.Count} fields, got {Describe(actual)}";
                }

                foreach (KeyValuePair<string, object?> kv in map)
                {
                    if (!actualMap.TryGetValue(kv.Key, out object? av2))
                    {
                        return $"{path}: missing field {kv.Key}";
                    }

                    string? diff = Difference(kv.Value, av2, path + "." + kv.Key, anyNaN);
                    if (diff is not null)
                    {
                        return diff;
                    }
                }

                return null;
            case IReadOnlyList<object?> list:
                if (actual is not IReadOnlyList<object?> actualList || actualList.Count != list.Count)
                {
                    return $"{path}: expected a list of {list.Count}, got {Describe(actual)}";
                }

                for (int i = 0; i < list.Count; i++)
                {
                    string? diff = Difference(list[i], actualList[i], path + "[" + i + "]", anyNaN);
                    if (diff is not null)
                    {
                        return diff;
                    }
                }

                return null;
            default:
                return Equals(expected, actual) && expected.GetType() == actual?.GetType() ? null : $"{path}: expected {expected} ({expected.GetType().Name}), got {Describe(actual)}";
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        byte[] b => "bytes " + Convert.ToHexString(b),
        Rune r => $"'{r}'",
        IReadOnlyList<object?> l => "list of " + l.Count,
        _ => $"{value} ({value.GetType().Name})",
    };
}

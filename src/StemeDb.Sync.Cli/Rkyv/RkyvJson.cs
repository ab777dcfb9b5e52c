using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using StemeDb.Sync.Internal;

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// Maps between JSON and the dynamic value model of <see cref="RkyvSerializer"/>, and so between JSON and archives.
/// The JSON shape is serde's default: structs as objects keyed by Rust field name, <c>Vec&lt;u8&gt;</c> and <c>[u8; N]</c>
/// as lowercase hex strings, other vecs, arrays and tuples as arrays, <c>Option</c> as <see langword="null"/> or the
/// value, <c>char</c> as a one-character string, enums externally tagged (<c>"Unit"</c>, <c>{"Variant": payload}</c>).
/// </summary>
/// <remarks>
/// Floats are written in their shortest round-trip form; NaN and infinities, which JSON numbers cannot hold, are
/// written and read as the strings <c>"NaN"</c>, <c>"Infinity"</c> and <c>"-Infinity"</c>.
/// </remarks>
internal static class RkyvJson
{
    /// <summary>Converts JSON into an archive of <paramref name="type"/>.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="json">The JSON text.</param>
    /// <returns>The archive bytes.</returns>
    /// <exception cref="JsonException">The JSON is malformed or does not have the shape of <paramref name="type"/>.</exception>
    public static byte[] ToArchive(RkyvType type, string json)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = JsonDocument.Parse(json);
        return RkyvSerializer.Serialize(type, ToValue(type, document.RootElement));
    }

    /// <summary>Validates and decodes an archive of <paramref name="type"/> into JSON text.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="archive">The untrusted archive bytes.</param>
    /// <param name="indented">Whether to indent the output.</param>
    /// <returns>The JSON text.</returns>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archive.</exception>
    public static string FromArchive(RkyvType type, ReadOnlySpan<byte> archive, bool indented = false)
    {
        object? value = RkyvSerializer.Deserialize(type, archive);
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII text readable; the output is meant for tools and people, not for HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteValue(writer, type, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Converts a JSON element into the dynamic value model for <paramref name="type"/>.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="json">The JSON element.</param>
    /// <returns>The dynamic value.</returns>
    /// <exception cref="JsonException">The JSON does not have the shape of <paramref name="type"/>.</exception>
    public static object? ToValue(RkyvType type, JsonElement json)
    {
        ArgumentNullException.ThrowIfNull(type);
        try
        {
            return Convert(type, json, "$");
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json reports strings it cannot unescape to UTF-16 (e.g. a lone surrogate escape) this way.
            throw new JsonException(ex.Message, ex);
        }
    }

    /// <summary>Writes a dynamic value of <paramref name="type"/> as JSON.</summary>
    /// <param name="writer">The JSON writer.</param>
    /// <param name="type">The schema.</param>
    /// <param name="value">The dynamic value.</param>
    /// <exception cref="ArgumentException">The value does not match the schema.</exception>
    public static void WriteValue(Utf8JsonWriter writer, RkyvType type, object? value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(type);
        Write(writer, type, value);
    }

    private static object? Convert(RkyvType type, JsonElement json, string path)
    {
        switch (type.Kind)
        {
            case RkyvTypeKind.U8:
                return json.ValueKind == JsonValueKind.Number && json.TryGetByte(out byte u8) ? u8 : throw Shape(type, json, path);
            case RkyvTypeKind.I8:
                return json.ValueKind == JsonValueKind.Number && json.TryGetSByte(out sbyte i8) ? i8 : throw Shape(type, json, path);
            case RkyvTypeKind.U16:
                return json.ValueKind == JsonValueKind.Number && json.TryGetUInt16(out ushort u16) ? u16 : throw Shape(type, json, path);
            case RkyvTypeKind.I16:
                return json.ValueKind == JsonValueKind.Number && json.TryGetInt16(out short i16) ? i16 : throw Shape(type, json, path);
            case RkyvTypeKind.U32:
                return json.ValueKind == JsonValueKind.Number && json.TryGetUInt32(out uint u32) ? u32 : throw Shape(type, json, path);
            case RkyvTypeKind.I32:
                return json.ValueKind == JsonValueKind.Number && json.TryGetInt32(out int i32) ? i32 : throw Shape(type, json, path);
            case RkyvTypeKind.U64:
                return json.ValueKind == JsonValueKind.Number && json.TryGetUInt64(out ulong u64) ? u64 : throw Shape(type, json, path);
            case RkyvTypeKind.I64:
                return json.ValueKind == JsonValueKind.Number && json.TryGetInt64(out long i64) ? i64 : throw Shape(type, json, path);
            case RkyvTypeKind.F32:
                return json.ValueKind switch
                {
                    JsonValueKind.Number when json.TryGetSingle(out float f) => f,
                    JsonValueKind.String => NamedFloat(json.GetString(), type, json, path) is double d ? (float)d : throw Shape(type, json, path),
                    _ => throw Shape(type, json, path),
                };
            case RkyvTypeKind.F64:
                return json.ValueKind switch
                {
                    JsonValueKind.Number when json.TryGetDouble(out double d) => d,
                    JsonValueKind.String => NamedFloat(json.GetString(), type, json, path),
                    _ => throw Shape(type, json, path),
                };
            case RkyvTypeKind.Bool:
                return json.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw Shape(type, json, path),
                };
            case RkyvTypeKind.Char:
            {
                string? s = json.ValueKind == JsonValueKind.String ? json.GetString() : null;
                if (s is not null && Rune.DecodeFromUtf16(s, out Rune rune, out int used) == OperationStatus.Done && used == s.Length)
                {
                    return rune;
                }

                throw Shape(type, json, path);
            }

            case RkyvTypeKind.String:
                return json.ValueKind == JsonValueKind.String ? json.GetString() : throw Shape(type, json, path);
            case RkyvTypeKind.Vec:
            case RkyvTypeKind.Array:
            {
                RkyvType element = type.Element!;
                if (element.IsByte)
                {
                    return HexBytes(type, json, path);
                }

                if (json.ValueKind != JsonValueKind.Array)
                {
                    throw Shape(type, json, path);
                }

                var items = new object?[json.GetArrayLength()];
                int i = 0;
                foreach (JsonElement item in json.EnumerateArray())
                {
                    items[i] = Convert(element, item, path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]");
                    i++;
                }

                if (type.Kind == RkyvTypeKind.Array && items.Length != type.Length)
                {
                    throw new JsonException($"{path}: {type.Name} needs {type.Length} elements but the array has {items.Length}.");
                }

                return items;
            }

            case RkyvTypeKind.Option:
                return json.ValueKind == JsonValueKind.Null ? null : Convert(type.Element!, json, path);
            case RkyvTypeKind.Box:
                return Convert(type.Element!, json, path);
            case RkyvTypeKind.Tuple:
                return Positional(type.FieldArray, type, json, path);
            case RkyvTypeKind.Struct:
                return Named(type.FieldArray, type, json, path);
            case RkyvTypeKind.Enum:
                return Variant(type, json, path);
            default:
                throw new InvalidOperationException($"Unknown type kind {type.Kind}.");
        }
    }

    private static RkyvEnumValue Variant(RkyvType type, JsonElement json, string path)
    {
        if (json.ValueKind == JsonValueKind.String)
        {
            string name = json.GetString()!;
            RkyvVariant unit = type.FindVariant(name) ?? throw new JsonException($"{path}: {type.Name} has no variant '{name}'.");
            return unit.Kind == RkyvVariantKind.Unit
                ? new RkyvEnumValue(name)
                : throw new JsonException($"{path}: variant {type.Name}::{name} has fields; write it as {{\"{name}\": ...}}.");
        }

        if (json.ValueKind != JsonValueKind.Object)
        {
            throw Shape(type, json, path);
        }

        JsonProperty? only = null;
        foreach (JsonProperty p in json.EnumerateObject())
        {
            if (only is not null)
            {
                throw new JsonException($"{path}: an externally tagged {type.Name} is an object with exactly one property.");
            }

            only = p;
        }

        if (only is not JsonProperty property)
        {
            throw new JsonException($"{path}: an externally tagged {type.Name} is an object with exactly one property.");
        }

        RkyvVariant variant = type.FindVariant(property.Name) ?? throw new JsonException($"{path}: {type.Name} has no variant '{property.Name}'.");
        string inner = path + "." + variant.Name;
        RkyvField[] fields = variant.FieldArray;
        object? payload = variant.Kind switch
        {
            RkyvVariantKind.Unit => property.Value.ValueKind == JsonValueKind.Null ? null : throw new JsonException($"{inner}: a unit variant has no payload."),
            RkyvVariantKind.Tuple when fields.Length == 1 => Convert(fields[0].Type, property.Value, inner),
            RkyvVariantKind.Tuple => Positional(fields, type, property.Value, inner),
            _ => Named(fields, type, property.Value, inner),
        };
        return new RkyvEnumValue(variant.Name, payload);
    }

    private static object?[] Positional(RkyvField[] fields, RkyvType type, JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.Array || json.GetArrayLength() != fields.Length)
        {
            throw new JsonException($"{path}: expected an array of {fields.Length} elements for {type.Name}.");
        }

        var items = new object?[fields.Length];
        int i = 0;
        foreach (JsonElement item in json.EnumerateArray())
        {
            items[i] = Convert(fields[i].Type, item, path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]");
            i++;
        }

        return items;
    }

    private static Dictionary<string, object?> Named(RkyvField[] fields, RkyvType type, JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw Shape(type, json, path);
        }

        var map = new Dictionary<string, object?>(fields.Length, StringComparer.Ordinal);
        foreach (JsonProperty p in json.EnumerateObject())
        {
            RkyvField field = Array.Find(fields, f => f.Name == p.Name) ?? throw new JsonException($"{path}: {type.Name} has no field '{p.Name}'.");
            if (!map.TryAdd(field.Name, Convert(field.Type, p.Value, path + "." + p.Name)))
            {
                throw new JsonException($"{path}: field '{p.Name}' appears twice.");
            }
        }

        foreach (RkyvField f in fields)
        {
            if (!map.ContainsKey(f.Name))
            {
                throw new JsonException($"{path}: field '{f.Name}' of {type.Name} is missing.");
            }
        }

        return map;
    }

    private static byte[] HexBytes(RkyvType type, JsonElement json, string path)
    {
        string? hex = json.ValueKind == JsonValueKind.String ? json.GetString() : null;
        if (hex is null)
        {
            throw Shape(type, json, path);
        }

        var bytes = new byte[hex.Length / 2];
        if (hex.Length % 2 != 0 || !Hex.TryDecode(hex, bytes))
        {
            throw new JsonException($"{path}: {type.Name} is written as an even number of hex digits.");
        }

        if (type.Kind == RkyvTypeKind.Array && bytes.Length != type.Length)
        {
            throw new JsonException($"{path}: {type.Name} needs {type.Length} bytes but got {bytes.Length}.");
        }

        return bytes;
    }

    private static double NamedFloat(string? text, RkyvType type, JsonElement json, string path) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => throw Shape(type, json, path),
    };

    private static JsonException Shape(RkyvType type, JsonElement json, string path) =>
        new($"{path}: a JSON {json.ValueKind} is not a valid {type.Name}.");

    private static void Write(Utf8JsonWriter writer, RkyvType type, object? value)
    {
        switch (type.Kind)
        {
            case RkyvTypeKind.U8:
                writer.WriteNumberValue(Expect<byte>(value, type));
                break;
            case RkyvTypeKind.I8:
                writer.WriteNumberValue(Expect<sbyte>(value, type));
                break;
            case RkyvTypeKind.U16:
                writer.WriteNumberValue(Expect<ushort>(value, type));
                break;
            case RkyvTypeKind.I16:
                writer.WriteNumberValue(Expect<short>(value, type));
                break;
            case RkyvTypeKind.U32:
                writer.WriteNumberValue(Expect<uint>(value, type));
                break;
            case RkyvTypeKind.I32:
                writer.WriteNumberValue(Expect<int>(value, type));
                break;
            case RkyvTypeKind.U64:
                writer.WriteNumberValue(Expect<ulong>(value, type));
                break;
            case RkyvTypeKind.I64:
                writer.WriteNumberValue(Expect<long>(value, type));
                break;
            case RkyvTypeKind.F32:
            {
                float f = Expect<float>(value, type);
                if (float.IsFinite(f))
                {
                    writer.WriteNumberValue(f);
                }
                else
                {
                    writer.WriteStringValue(float.IsNaN(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity");
                }

                break;
            }

            case RkyvTypeKind.F64:
            {
                double d = Expect<double>(value, type);
                if (double.IsFinite(d))
                {
                    writer.WriteNumberValue(d);
                }
                else
                {
                    writer.WriteStringValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                }

                break;
            }

            case RkyvTypeKind.Bool:
                writer.WriteBooleanValue(Expect<bool>(value, type));
                break;
            case RkyvTypeKind.Char:
                writer.WriteStringValue(Expect<Rune>(value, type).ToString());
                break;
            case RkyvTypeKind.String:
                writer.WriteStringValue(Expect<string>(value, type));
                break;
            case RkyvTypeKind.Vec:
            case RkyvTypeKind.Array:
                if (type.Element!.IsByte)
                {
                    ReadOnlySpan<byte> bytes = value switch
                    {
                        byte[] array => array,
                        ReadOnlyMemory<byte> memory => memory.Span,
                        _ => throw Mismatch(value, type),
                    };
                    writer.WriteStringValue(Hex.Encode(bytes));
                    break;
                }

                writer.WriteStartArray();
                foreach (object? item in Expect<IReadOnlyList<object?>>(value, type))
                {
                    Write(writer, type.Element, item);
                }

                writer.WriteEndArray();
                break;
            case RkyvTypeKind.Option:
                if (value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    Write(writer, type.Element!, value);
                }

                break;
            case RkyvTypeKind.Box:
                Write(writer, type.Element!, value);
                break;
            case RkyvTypeKind.Tuple:
                WritePositional(writer, type.FieldArray, Expect<IReadOnlyList<object?>>(value, type), type);
                break;
            case RkyvTypeKind.Struct:
                WriteNamed(writer, type.FieldArray, Expect<IReadOnlyDictionary<string, object?>>(value, type), type);
                break;
            case RkyvTypeKind.Enum:
            {
                RkyvEnumValue e = Expect<RkyvEnumValue>(value, type);
                RkyvVariant variant = type.FindVariant(e.Variant) ?? throw new ArgumentException($"{type.Name} has no variant '{e.Variant}'.");
                RkyvField[] fields = variant.FieldArray;
                if (variant.Kind == RkyvVariantKind.Unit)
                {
                    writer.WriteStringValue(variant.Name);
                    break;
                }

                writer.WriteStartObject();
                writer.WritePropertyName(variant.Name);
                if (variant.Kind == RkyvVariantKind.Tuple && fields.Length == 1)
                {
                    Write(writer, fields[0].Type, e.Payload);
                }
                else if (variant.Kind == RkyvVariantKind.Tuple)
                {
                    WritePositional(writer, fields, Expect<IReadOnlyList<object?>>(e.Payload, type), type);
                }
                else
                {
                    WriteNamed(writer, fields, Expect<IReadOnlyDictionary<string, object?>>(e.Payload, type), type);
                }

                writer.WriteEndObject();
                break;
            }

            default:
                throw new InvalidOperationException($"Unknown type kind {type.Kind}.");
        }
    }

    private static void WritePositional(Utf8JsonWriter writer, RkyvField[] fields, IReadOnlyList<object?> values, RkyvType type)
    {
        if (values.Count != fields.Length)
        {
            throw new ArgumentException($"{type.Name} needs {fields.Length} elements but got {values.Count}.");
        }

        writer.WriteStartArray();
        for (int i = 0; i < fields.Length; i++)
        {
            Write(writer, fields[i].Type, values[i]);
        }

        writer.WriteEndArray();
    }

    private static void WriteNamed(Utf8JsonWriter writer, RkyvField[] fields, IReadOnlyDictionary<string, object?> values, RkyvType type)
    {
        writer.WriteStartObject();
        foreach (RkyvField f in fields)
        {
            if (!values.TryGetValue(f.Name, out object? v))
            {
                throw new ArgumentException($"The value has no field '{f.Name}' of {type.Name}.");
            }

            writer.WritePropertyName(f.Name);
            Write(writer, f.Type, v);
        }

        writer.WriteEndObject();
    }

    private static T Expect<T>(object? value, RkyvType type) => value is T t ? t : throw Mismatch(value, type);

    private static ArgumentException Mismatch(object? value, RkyvType type) =>
        new($"{type.Name} cannot be written from a {(value is null ? "null" : value.GetType().Name)} value.");
}

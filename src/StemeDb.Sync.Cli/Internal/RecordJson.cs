using System;
using System.IO;
using System.Text;
using System.Text.Json;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>Formats a fetched record as one line of JSON.</summary>
internal static class RecordJson
{
    public static string Format(AssertionRecord record, bool decode)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("hash", record.Hash.ToString());
            if (record.Timestamp.IsNone)
            {
                writer.WriteNull("hlc"); // the node sent none (a v1 node sends hash and data only)
            }
            else
            {
                writer.WriteStartObject("hlc");
                writer.WriteNumber("time", record.Timestamp.Time);
                writer.WriteNumber("counter", record.Timestamp.Counter);
                byte[] node = new byte[NodeId.Length];
                record.Timestamp.NodeId.CopyTo(node);
                writer.WriteString("node_id", Convert.ToHexStringLower(node));
                writer.WriteEndObject();
            }
            writer.WriteNumber("size", record.Data.Length);
            if (!decode)
            {
                writer.WriteString("data", Convert.ToHexStringLower(record.Data.Span));
            }
            else if (AssertionJson.TryDecode(AssertionSchema.Assertion, record.Data.Span, out string json, out string error))
            {
                writer.WritePropertyName("assertion");
                writer.WriteRawValue(json, skipInputValidation: true);
            }
            else
            {
                writer.WriteString("invalid", error);
                writer.WriteString("data", Convert.ToHexStringLower(record.Data.Span));
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

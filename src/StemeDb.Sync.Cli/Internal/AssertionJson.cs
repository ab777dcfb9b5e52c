using System;
using System.Text;
using System.Text.Json;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// JSON in the conformance corpus shape (structs as objects with the Rust field names, byte arrays as lowercase hex,
/// enums externally tagged) to and from rkyv archives.
/// </summary>
internal static class AssertionJson
{
    public static readonly string[] TypeNames = ["Assertion", "Value", "HlcTimestamp"];

    public static RkyvType ResolveType(string name) => name switch
    {
        "Assertion" => AssertionSchema.Assertion,
        "Value" => AssertionSchema.Value,
        "HlcTimestamp" => AssertionSchema.HlcTimestamp,
        _ => throw new CliException(ExitCodes.Usage, $"unknown type '{name}'; expected one of {string.Join(", ", TypeNames)}."),
    };

    /// <summary>Encodes JSON to an archive; malformed or mismatched JSON is <see cref="ExitCodes.InvalidData"/>.</summary>
    public static byte[] Encode(RkyvType type, string json)
    {
        try
        {
            return RkyvJson.ToArchive(type, json);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.InvalidData, $"the input is not valid {type.Name} JSON: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ExitCodes.InvalidData, $"the input is not valid {type.Name} JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Validates an archive and decodes it to JSON; on failure returns the validator's reason.</summary>
    public static bool TryDecode(RkyvType type, ReadOnlySpan<byte> archive, out string json, out string error)
    {
        json = string.Empty;
        if (ReferenceEquals(type, AssertionSchema.Assertion))
        {
            if (!RkyvAssertionValidator.Instance.TryValidate(archive, out string? reason))
            {
                error = reason ?? "invalid Assertion archive.";
                return false;
            }
        }
        else if (!RkyvSerializer.TryValidate(type, archive, out RkyvError rkyvError))
        {
            error = $"Invalid rkyv {type.Name} archive: {rkyvError}.";
            return false;
        }

        try
        {
            json = RkyvJson.FromArchive(type, archive);
        }
        catch (RkyvFormatException ex)
        {
            error = ex.Message;
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>Parses hex, ignoring whitespace; malformed hex is <see cref="ExitCodes.InvalidData"/>.</summary>
    public static byte[] ParseHex(string text)
    {
        var digits = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (!char.IsWhiteSpace(c))
            {
                digits.Append(c);
            }
        }

        if (digits.Length % 2 != 0)
        {
            throw new CliException(ExitCodes.InvalidData, $"the input is not hex: {digits.Length} digits is an odd number.");
        }

        try
        {
            return Convert.FromHexString(digits.ToString());
        }
        catch (FormatException ex)
        {
            throw new CliException(ExitCodes.InvalidData, "the input is not hex: " + ex.Message, ex);
        }
    }
}

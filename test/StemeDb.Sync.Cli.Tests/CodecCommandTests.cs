using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

[TestFixture]
public sealed class CodecCommandTests
{
    public static IEnumerable<TestCaseData> AssertionVectors() => Cases("vectors.json", includeMutations: false);

    public static IEnumerable<TestCaseData> InvalidAssertionArchives() => Cases("invalid.json", includeMutations: true).Where(c => c.Arguments[2] is null);

    public static IEnumerable<TestCaseData> ValidMutatedArchives() => Cases("invalid.json", includeMutations: true).Where(c => c.Arguments[2] is not null);

    [TestCaseSource(nameof(AssertionVectors))]
    public async Task Encode_CorpusAssertion_WritesTheCorpusBytesAsLowercaseHex(string json, string hex)
    {
        var (code, output, error) = await CliRunner.RunAsync(json, "codec", "encode", "--type", "Assertion");

        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output.Trim(), Is.EqualTo(hex));
    }

    [TestCaseSource(nameof(AssertionVectors))]
    public async Task Decode_CorpusBytes_WritesJsonThatEncodesBackToTheSameBytes(string json, string hex)
    {
        var (code, decoded, error) = await CliRunner.RunAsync(hex + "\n", "codec", "decode", "--type", "Assertion");
        var (reencodeCode, reencoded, _) = await CliRunner.RunAsync(decoded, "codec", "encode", "--type", "Assertion");

        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
        using JsonDocument document = JsonDocument.Parse(decoded);
        Assert.That(document.RootElement.GetProperty("subject").GetString(), Is.EqualTo(JsonDocument.Parse(json).RootElement.GetProperty("subject").GetString()));
        Assert.That(reencodeCode, Is.EqualTo(ExitCodes.Success));
        Assert.That(reencoded.Trim(), Is.EqualTo(hex));
    }

    [TestCaseSource(nameof(InvalidAssertionArchives))]
    public async Task Decode_InvalidArchive_ExitsInvalidDataWithTheValidatorsReason(string mutation, string hex, string? value)
    {
        var (code, output, error) = await CliRunner.RunAsync(hex, "codec", "decode", "--type", "Assertion");

        Assert.That(code, Is.EqualTo(ExitCodes.InvalidData), mutation);
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.StartWith("error: Invalid rkyv Assertion archive:"));
    }

    [TestCaseSource(nameof(ValidMutatedArchives))]
    public async Task Decode_MutatedButValidArchive_WritesTheCorpusValue(string mutation, string hex, string value)
    {
        var (code, output, error) = await CliRunner.RunAsync(hex, "codec", "decode", "--type", "Assertion");

        Assert.That(code, Is.EqualTo(ExitCodes.Success), mutation + ": " + error);
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(output), JsonNode.Parse(value)), Is.True, $"{mutation}: {output} vs {value}");
    }

    [TestCase("zz")]
    [TestCase("abc")]
    public async Task Decode_NotHex_ExitsInvalidData(string input)
    {
        var (code, _, error) = await CliRunner.RunAsync(input, "codec", "decode");

        Assert.That(code, Is.EqualTo(ExitCodes.InvalidData));
        Assert.That(error, Does.Contain("not hex"));
    }

    [TestCase("{not json")]
    [TestCase("{\"subject\": 1}")]
    [TestCase("[]")]
    public async Task Encode_InvalidJson_ExitsInvalidDataAndWritesNothing(string input)
    {
        var (code, output, error) = await CliRunner.RunAsync(input, "codec", "encode", "--type", "Assertion");

        Assert.That(code, Is.EqualTo(ExitCodes.InvalidData));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("not valid Assertion JSON"));
    }

    [Test]
    public async Task Encode_WithHashOption_PrintsTheBlake3OfTheBytes()
    {
        TestCaseData first = AssertionVectors().First();
        string json = (string)first.Arguments[0]!;

        var (code, output, _) = await CliRunner.RunAsync(json, "codec", "encode", "--hash");
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.That(code, Is.EqualTo(ExitCodes.Success));
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[1], Is.EqualTo(AssertionHash.Compute(Convert.FromHexString(lines[0])).ToString()));
    }

    [Test]
    public async Task Decode_UnknownType_IsAUsageError()
    {
        var (code, _, error) = await CliRunner.RunAsync("00", "codec", "decode", "--type", "Banana");

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("Banana"));
    }

    private static IEnumerable<TestCaseData> Cases(string file, bool includeMutations)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "TestData", "rkyv", file);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        var cases = new List<TestCaseData>();
        foreach (JsonElement item in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            if (item.GetProperty("type").GetString() != "Assertion")
            {
                continue;
            }

            string name = item.GetProperty("name").GetString()!;
            string hex = item.GetProperty("bytes").GetString()!;
            if (includeMutations)
            {
                bool valid = item.TryGetProperty("valid", out JsonElement v) && v.GetBoolean();
                string? value = valid ? item.GetProperty("value").GetRawText() : null;
                cases.Add(new TestCaseData(item.GetProperty("mutation").GetString(), hex, value).SetArgDisplayNames(name));
            }
            else
            {
                cases.Add(new TestCaseData(item.GetProperty("value").GetRawText(), hex).SetArgDisplayNames(name));
            }
        }

        return cases;
    }
}

using System;
using System.CommandLine;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Rkyv;

namespace StemeDb.Sync.Cli.Commands;

/// <summary><c>codec encode|decode --type T</c>: JSON ⇄ rkyv archive (hex) through standard input and output.</summary>
internal static class CodecCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("codec", "Convert between JSON (the conformance corpus shape) and rkyv 0.8 archives as lowercase hex.");
        command.Subcommands.Add(Encode(console));
        command.Subcommands.Add(Decode(console));
        return command;
    }

    private static Option<string> TypeOption() => new Option<string>("--type")
    {
        Description = "The archived type.",
        DefaultValueFactory = _ => "Assertion",
    }.AcceptOnlyFromAmong(AssertionJson.TypeNames);

    private static Command Encode(CliConsole console)
    {
        Option<string> type = TypeOption();
        var command = new Command("encode", "Read one JSON value from standard input; write the archive as lowercase hex and the BLAKE3 hash of its bytes (with --hash). Invalid JSON exits 4.") { type };
        var hash = new Option<bool>("--hash") { Description = "Also print the BLAKE3 hash of the archive on a second line." };
        command.Options.Add(hash);
        command.SetAction((parse, ct) => CommandSupport.RunAsync(console, ct, async token =>
        {
            RkyvType rkyvType = AssertionJson.ResolveType(parse.GetValue(type)!);
            string json = await console.In.ReadToEndAsync(token).ConfigureAwait(false);
            byte[] archive = AssertionJson.Encode(rkyvType, json);
            await console.Out.WriteLineAsync(Convert.ToHexStringLower(archive)).ConfigureAwait(false);
            if (parse.GetValue(hash))
            {
                await console.Out.WriteLineAsync(AssertionHash.Compute(archive).ToString()).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Decode(CliConsole console)
    {
        Option<string> type = TypeOption();
        var command = new Command("decode", "Read an archive as hex from standard input, validate it, and write it as JSON. An invalid archive exits 4 with the validator's reason on standard error.") { type };
        command.SetAction((parse, ct) => CommandSupport.RunAsync(console, ct, async token =>
        {
            RkyvType rkyvType = AssertionJson.ResolveType(parse.GetValue(type)!);
            string text = await console.In.ReadToEndAsync(token).ConfigureAwait(false);
            byte[] archive = AssertionJson.ParseHex(text);
            if (!AssertionJson.TryDecode(rkyvType, archive, out string json, out string error))
            {
                throw new CliException(ExitCodes.InvalidData, error);
            }

            await console.Out.WriteLineAsync(json).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}

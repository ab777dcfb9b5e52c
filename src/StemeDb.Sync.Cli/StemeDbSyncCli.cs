using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Commands;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli;

/// <summary>The <c>stemedb-sync</c> command line.</summary>
internal static class StemeDbSyncCli
{
    public static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("stemedb-sync: run and inspect StemeDb.Sync nodes (gRPC replication of StemeDB assertions).\n\nExit codes: 0 success, 1 negative outcome (roots differ, rejected, not converged), 2 usage error, 3 node unreachable or call failed, 4 invalid input data, 5 local I/O error, 70 internal error, 130 interrupted.");
        root.Subcommands.Add(ServeCommand.Create(console));
        root.Subcommands.Add(ClientCommands.Ping(console));
        root.Subcommands.Add(ClientCommands.Roots(console));
        root.Subcommands.Add(StatusCommand.Create(console));
        root.Subcommands.Add(ClientCommands.Leaves(console));
        root.Subcommands.Add(ClientCommands.Fetch(console));
        root.Subcommands.Add(PutCommand.Create(console));
        root.Subcommands.Add(SyncCommand.Create(console));
        root.Subcommands.Add(ExportImportCommands.Export(console));
        root.Subcommands.Add(ExportImportCommands.Import(console));
        root.Subcommands.Add(CodecCommand.Create(console));
        root.Subcommands.Add(DemoCommand.Create(console));
        return root;
    }

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        RootCommand root = Build(console);
        ParseResult parse = root.Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = TimeSpan.FromSeconds(10),
        };

        if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            foreach (ParseError error in parse.Errors)
            {
                await console.Error.WriteLineAsync("error: " + error.Message).ConfigureAwait(false);
            }

            await console.Error.WriteLineAsync($"Run '{root.Name} {CommandPath(parse)}--help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        int code = await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return code;
    }

    private static string CommandPath(ParseResult parse)
    {
        string path = string.Empty;
        for (SymbolResult? result = parse.CommandResult; result is CommandResult command && command.Parent is not null; result = command.Parent)
        {
            path = command.Command.Name + " " + path;
        }

        return path;
    }
}

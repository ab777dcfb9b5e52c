using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Commands;

/// <summary>Commands that call a running node: ping, roots, leaves, fetch.</summary>
internal static class ClientCommands
{
    public static Command Ping(CliConsole console)
    {
        Argument<Uri> node = CommandSupport.NodeArgument();
        var connection = new ConnectionOptions();
        var command = new Command("ping", "Check that a node is alive; prints its node id, assertion count and the round-trip time.") { node };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            using GrpcSyncPeer peer = connection.CreatePeer(parse, parse.GetValue(node)!);
            long started = Environment.TickCount64;
            PingResult result = await peer.PingAsync(NodeId.Empty, token).ConfigureAwait(false);
            long elapsed = Environment.TickCount64 - started;
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"node {result.NodeId} at {peer.Name}: {result.AssertionCount} assertions, {elapsed} ms")).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Roots(CliConsole console)
    {
        var nodes = new Argument<Uri[]>("nodes")
        {
            Description = "One or more node addresses; with several, the roots are compared.",
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result =>
            {
                var parsed = new List<Uri>();
                foreach (var token in result.Tokens)
                {
                    if (!CommandSupport.TryParseAddress(token.Value, out Uri? uri))
                    {
                        result.AddError($"'{token.Value}' is not an absolute http:// or https:// address such as http://127.0.0.1:5000.");
                        return [];
                    }

                    parsed.Add(uri!);
                }

                return parsed.ToArray();
            },
        };
        var connection = new ConnectionOptions();
        var command = new Command("roots", "Print each node's Merkle root and assertion count. With several nodes, exits 1 unless all roots are equal.") { nodes };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            var summaries = new List<RootSummary>();
            foreach (Uri address in parse.GetValue(nodes)!)
            {
                using GrpcSyncPeer peer = connection.CreatePeer(parse, address);
                RootExchangeResult result = await peer.ExchangeRootsAsync(new RootSummary(AssertionHash.Zero, 0), token).ConfigureAwait(false);
                summaries.Add(result.Remote);
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{result.Remote.Root}  {result.Remote.Count,8}  {peer.Name}")).ConfigureAwait(false);
            }

            if (summaries.Count < 2)
            {
                return ExitCodes.Success;
            }

            bool match = summaries.All(s => s.Root == summaries[0].Root);
            await console.Out.WriteLineAsync(match ? "roots match" : "roots differ").ConfigureAwait(false);
            return match ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }

    public static Command Leaves(CliConsole console)
    {
        Argument<Uri> node = CommandSupport.NodeArgument();
        var max = new Option<uint>("--max")
        {
            Description = "How many leaves to ask for (the node caps it at 10000).",
            DefaultValueFactory = _ => (uint)SyncProtocol.MaxLeavesPerPage,
        };
        var connection = new ConnectionOptions();
        var command = new Command("leaves", "Print a node's Merkle leaves (assertion hashes) in ascending order, one per line.") { node, max };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            using GrpcSyncPeer peer = connection.CreatePeer(parse, parse.GetValue(node)!);
            LeavesPage page = await peer.GetLeavesAsync(parse.GetValue(max), token).ConfigureAwait(false);
            foreach (AssertionHash leaf in page.Leaves)
            {
                await console.Out.WriteLineAsync(leaf.ToString()).ConfigureAwait(false);
            }

            if (page.Truncated)
            {
                await console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"(truncated: the node holds more than {page.Leaves.Count} leaves)")).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Fetch(CliConsole console)
    {
        Argument<Uri> node = CommandSupport.NodeArgument();
        var hashes = new Argument<AssertionHash[]>("hashes")
        {
            Description = "Hashes (64 hex digits) of the assertions to fetch; at most 1000.",
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result =>
            {
                var parsed = new List<AssertionHash>();
                foreach (var token in result.Tokens)
                {
                    if (!AssertionHash.TryParse(token.Value, out AssertionHash hash))
                    {
                        result.AddError($"'{token.Value}' is not an assertion hash (64 hex digits).");
                        return [];
                    }

                    parsed.Add(hash);
                }

                if (parsed.Count > SyncProtocol.MaxFetchHashes)
                {
                    result.AddError($"At most {SyncProtocol.MaxFetchHashes} hashes per fetch; got {parsed.Count}.");
                }

                return parsed.ToArray();
            },
        };
        var raw = new Option<bool>("--hex")
        {
            Description = "Print the archive bytes as hex instead of decoding them as an Assertion.",
        };
        var connection = new ConnectionOptions();
        var command = new Command("fetch", "Fetch assertions by hash and print one JSON object per line: hash, HLC timestamp, and the decoded assertion (or its bytes with --hex). Exits 1 if any hash was not found.")
        {
            node, hashes, raw,
        };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            AssertionHash[] wanted = parse.GetValue(hashes)!;
            using GrpcSyncPeer peer = connection.CreatePeer(parse, parse.GetValue(node)!);
            IReadOnlyList<AssertionRecord> records = await peer.FetchAsync(wanted, token).ConfigureAwait(false);
            var found = new HashSet<AssertionHash>();
            foreach (AssertionRecord record in records)
            {
                if (!record.Hash.Matches(record.Data.Span))
                {
                    throw new CliException(ExitCodes.InvalidData, $"{peer.Name} answered bytes for {record.Hash} that do not hash to it.");
                }

                found.Add(record.Hash);
                await console.Out.WriteLineAsync(RecordJson.Format(record, decode: !parse.GetValue(raw))).ConfigureAwait(false);
            }

            int missing = 0;
            foreach (AssertionHash hash in wanted.Distinct())
            {
                if (!found.Contains(hash))
                {
                    missing++;
                    await console.Error.WriteLineAsync($"not found: {hash}").ConfigureAwait(false);
                }
            }

            return missing == 0 ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }
}

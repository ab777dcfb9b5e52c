using System;
using System.CommandLine;
using System.IO;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Rkyv;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Commands;

/// <summary><c>put</c>: encode an assertion given as JSON and push it to a node (a gossip call).</summary>
internal static class PutCommand
{
    public static Command Create(CliConsole console)
    {
        Argument<Uri> node = CommandSupport.NodeArgument();
        var file = new Option<FileInfo?>("--file", "-f")
        {
            Description = "Read the assertion JSON from this file instead of standard input.",
            HelpName = "path",
        };
        var connection = new ConnectionOptions();
        var command = new Command("put", "Encode an Assertion given as JSON (conformance corpus shape) and push it to a node, stamped with the assertion's own hlc. Prints its hash; exits 1 if the node rejects it.")
        {
            node, file,
        };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            FileInfo? source = parse.GetValue(file);
            string json = source is null
                ? await console.In.ReadToEndAsync(token).ConfigureAwait(false)
                : await File.ReadAllTextAsync(source.FullName, token).ConfigureAwait(false);
            byte[] archive = AssertionJson.Encode(AssertionSchema.Assertion, json);
            Assertion assertion = AssertionCodec.Decode(archive);
            AssertionHash hash = AssertionHash.Compute(archive);
            var record = new AssertionRecord(hash, archive, assertion.Hlc);

            using GrpcSyncPeer peer = connection.CreatePeer(parse, parse.GetValue(node)!);
            GossipResult result = await peer.GossipAsync(record, token).ConfigureAwait(false);
            if (!result.Accepted)
            {
                await console.Error.WriteLineAsync($"rejected by {peer.Name}: {result.Error}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }

            await console.Out.WriteLineAsync(hash.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}

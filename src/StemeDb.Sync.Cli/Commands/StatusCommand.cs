using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Commands;

/// <summary>
/// <c>status NODE</c>: the node's sync status through the <c>GetStatus</c> extension: its id, count and root, then one row
/// per peer (state, what each side lacks, the last pass). Exits 1 when any peer is not in sync.
/// </summary>
internal static class StatusCommand
{
    public static Command Create(CliConsole console)
    {
        Argument<Uri> node = CommandSupport.NodeArgument();
        var json = new Option<bool>("--json") { Description = "Print one JSON object (with --watch, one per line): nodeId, count, root, pendingGossip, inSync and peers, each with address, state, lastPassAt, missing and more." };
        var watch = new Option<bool>("--watch") { Description = "Print the status again every --interval seconds until Ctrl-C." };
        var interval = new Option<Seconds>("--interval")
        {
            Description = "Seconds between refreshes with --watch.",
            HelpName = "seconds",
            DefaultValueFactory = _ => new Seconds(TimeSpan.FromSeconds(2)),
            CustomParser = result => CommandSupport.ParseSeconds(result, "--interval"),
        };
        var connection = new ConnectionOptions();
        var command = new Command(
            "status",
            "Print a node's sync status: its id, count and root, then per peer its state, the assertions each side lacks and the last pass. Exits 1 when any peer is not in sync.")
        {
            node, json, watch, interval,
        };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            using GrpcSyncPeer peer = connection.CreatePeer(parse, parse.GetValue(node)!);
            bool asJson = parse.GetValue(json);
            while (true)
            {
                SyncNodeStatus status = await peer.GetStatusAsync(token).ConfigureAwait(false);
                string text = asJson ? Json(peer.Name, status) : Table(peer.Name, status);
                await console.Out.WriteLineAsync(text).ConfigureAwait(false);
                await console.Out.FlushAsync(token).ConfigureAwait(false);
                int exit = InSync(status) ? ExitCodes.Success : ExitCodes.Failure;
                if (!parse.GetValue(watch))
                {
                    return exit;
                }

                await Task.Delay(parse.GetValue(interval), token).ConfigureAwait(false);
            }
        }));
        return command;
    }

    /// <summary>Whether every peer is in sync (a node without peers is).</summary>
    internal static bool InSync(SyncNodeStatus status) => status.Peers.All(p => p.State == SyncPeerState.InSync);

    /// <summary>How states and extensions are spelled (as the node's metric tags and the <c>GetStatus</c> message spell them).</summary>
    internal static string Spell(string member) => JsonNamingPolicy.SnakeCaseLower.ConvertName(member);

    private static string Table(string address, SyncNodeStatus status)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"node {status.NodeId} at {address}: {status.Count} assertions, root {status.Root}, gossip queue {status.PendingGossip}");
        if (status.Peers.Count == 0)
        {
            return text.Append(Environment.NewLine).Append("no peers").ToString();
        }

        text.Append(Environment.NewLine);
        int width = Math.Max(4, status.Peers.Max(p => p.Name.Length));
        text.Append(CultureInfo.InvariantCulture, $"{"PEER".PadRight(width)}  {"STATE",-12}{"MISSING",10}{"PEER MISSING",14}  {"LAST PASS",-21}{"TOOK",9}  ERROR");
        foreach (SyncPeerStatus peer in status.Peers)
        {
            string missing = (peer.MissingExact ? string.Empty : "~") + peer.Missing.ToString(CultureInfo.InvariantCulture);
            string peerMissing = (peer.MissingExact ? string.Empty : "~") + peer.PeerMissing.ToString(CultureInfo.InvariantCulture);
            string lastPass = peer.LastPassAt is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "never";
            string took = peer.LastPassDuration is { } duration ? duration.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + "s" : "-";
            string state = Spell(peer.State.ToString()) + (peer.PassRunning && peer.State != SyncPeerState.Syncing ? "*" : string.Empty);
            text.Append(Environment.NewLine).Append(CultureInfo.InvariantCulture, $"{peer.Name.PadRight(width)}  {state,-12}{missing,10}{peerMissing,14}  {lastPass,-21}{took,9}  {peer.LastError}");
        }

        return text.ToString();
    }

    private static string Json(string address, SyncNodeStatus status)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("nodeId", status.NodeId.ToString());
            writer.WriteString("address", address);
            writer.WriteNumber("count", status.Count);
            writer.WriteString("root", status.Root.ToString());
            writer.WriteNumber("pendingGossip", status.PendingGossip);
            writer.WriteString("at", status.At);
            writer.WriteBoolean("inSync", InSync(status));
            writer.WriteStartArray("peers");
            foreach (SyncPeerStatus peer in status.Peers)
            {
                writer.WriteStartObject();
                writer.WriteString("address", peer.Name);
                writer.WriteString("state", Spell(peer.State.ToString()));
                writer.WriteBoolean("passRunning", peer.PassRunning);
                WriteTime(writer, "lastPassAt", peer.LastPassAt);
                if (peer.LastPassDuration is { } duration)
                {
                    writer.WriteNumber("lastPassSeconds", Math.Round(duration.TotalSeconds, 3));
                }
                else
                {
                    writer.WriteNull("lastPassSeconds");
                }

                WriteTime(writer, "lastSuccessAt", peer.LastSuccessAt);
                writer.WriteString("lastError", peer.LastError);
                if (peer.RemoteCount is { } remote)
                {
                    writer.WriteNumber("remoteCount", remote);
                }
                else
                {
                    writer.WriteNull("remoteCount");
                }

                writer.WriteNumber("missing", peer.Missing);
                writer.WriteNumber("peerMissing", peer.PeerMissing);
                writer.WriteBoolean("missingExact", peer.MissingExact);
                writer.WriteStartArray("extensions");
                foreach (SyncExtensions flag in Enum.GetValues<SyncExtensions>())
                {
                    if (flag != SyncExtensions.None && peer.Extensions.HasFlag(flag))
                    {
                        writer.WriteStringValue(Spell(flag.ToString()));
                    }
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            writer.WriteString(name, value.ToUniversalTime());
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}

using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Commands;

/// <summary><c>sync</c>: one anti-entropy pass between a local store and a peer, with progress.</summary>
internal static class SyncCommand
{
    public static Command Create(CliConsole console)
    {
        Argument<Uri> node = CommandSupport.NodeArgument("The peer to reconcile with.");
        var data = new Option<string?>("--data")
        {
            Description = "Local data directory (SQLite store) to reconcile; in memory without it (then the pass downloads, verifies and counts the peer's assertions).",
            HelpName = "dir",
        };
        var connection = new ConnectionOptions();
        var command = new Command("sync", "Run one anti-entropy pass against a peer: compare roots, fetch and verify what is missing locally, push what the peer lacks. Prints progress and a summary; exits 0 when the pass completed.")
        {
            node, data,
        };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            // The pass's peer has no gRPC deadline: the local node puts its PeerCallTimeout (--timeout) on every call, and
            // per chunk on a streamed pull. The summary's direct call after the pass carries --timeout as its deadline.
            Uri address = parse.GetValue(node)!;
            TimeSpan timeout = parse.GetValue(connection.Timeout);
            using GrpcSyncPeer peer = connection.CreatePeer(parse, address, Timeout.InfiniteTimeSpan);
            using GrpcSyncPeer probe = connection.CreatePeer(parse, address);

            string? directory = parse.GetValue(data);
            IAssertionStore store;
            NodeId nodeId;
            if (directory is null)
            {
                store = new InMemoryAssertionStore();
                nodeId = NodeId.NewId();
            }
            else
            {
                nodeId = NodeServer.LoadOrCreateNodeId(directory);
                (store, _) = await DataStores.OpenAsync(directory, wanted: null, token).ConfigureAwait(false);
            }

            try
            {
                return await RunPassAsync(console, peer, probe, timeout, store, nodeId, token).ConfigureAwait(false);
            }
            finally
            {
                if (store is IAsyncDisposable disposable)
                {
                    await disposable.DisposeAsync().ConfigureAwait(false);
                }
            }
        }));
        return command;
    }

    private static async Task<int> RunPassAsync(
        CliConsole console, GrpcSyncPeer peer, GrpcSyncPeer probe, TimeSpan timeout, IAssertionStore store, NodeId nodeId, CancellationToken cancellationToken)
    {
        var options = new SyncNodeOptions
        {
            NodeId = nodeId,
            ContentValidator = RkyvAssertionValidator.Instance,
            AntiEntropyInterval = Timeout.InfiniteTimeSpan,
            GossipFanout = 0,
            PeerCallTimeout = timeout,
        };
        SyncNode local = new(options, store);
        await using (local.ConfigureAwait(false))
        {
            await local.StartAsync(cancellationToken).ConfigureAwait(false);

            long before = local.Count;
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"local: {before} assertions, root {local.Root}")).ConfigureAwait(false);

            long started = Environment.TickCount64;
            Task<SyncPassResult> pass = local.SyncWithPeerAsync(peer, cancellationToken).AsTask();
            while (!pass.IsCompleted)
            {
                await Task.WhenAny(pass, Task.Delay(500, cancellationToken)).ConfigureAwait(false);
                if (!pass.IsCompleted)
                {
                    await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  ... {local.Count - before} fetched so far, {Environment.TickCount64 - started} ms")).ConfigureAwait(false);
                }
            }

            SyncPassResult result = await pass.ConfigureAwait(false);
            long elapsed = Environment.TickCount64 - started;
            RootExchangeResult remote = await probe.ExchangeRootsAsync(new RootSummary(local.Root, local.Count), cancellationToken).ConfigureAwait(false);

            await console.Out.WriteLineAsync(result.RootsMatched
                ? "roots matched: nothing to exchange"
                : string.Create(CultureInfo.InvariantCulture, $"fetched {result.Fetched} ({result.BytesReceived} bytes), pushed {result.Pushed} ({result.BytesSent} bytes), rejected {result.Rejected}, {result.RoundTrips} round trips")).ConfigureAwait(false);
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"local: {local.Count} assertions, root {local.Root}")).ConfigureAwait(false);
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"peer:  {remote.Remote.Count} assertions, root {remote.Remote.Root} ({(remote.RootsMatch ? "match" : "differ")})")).ConfigureAwait(false);
            if (!result.Complete)
            {
                await console.Out.WriteLineAsync("note: the peer holds more leaves than one v1 GetLeaves answer; run sync again to continue.").ConfigureAwait(false);
            }

            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"done in {elapsed} ms")).ConfigureAwait(false);
            return result.Rejected > 0 ? ExitCodes.Failure : ExitCodes.Success;
        }
    }
}

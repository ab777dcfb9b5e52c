using System;
using System.CommandLine;
using System.IO;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Commands;

/// <summary>
/// <c>export</c> and <c>import</c>: assertion streams (docs/STREAM-FORMAT.md) from and to a running node (a peer
/// address) or the SQLite store of a data directory, on standard output and input or in a file.
/// </summary>
internal static class ExportImportCommands
{
    public static Command Export(CliConsole console)
    {
        var (node, data, file, connection) = Arguments("The node to export from (its gRPC address); or give --data.", "Data directory (the SQLite store of serve --data) to export from, instead of a node.", "Write the stream to this file instead of standard output.");
        var command = new Command("export", "Write every assertion of a node, or of a data directory's store, as an assertion stream (docs/STREAM-FORMAT.md) to standard output or --file. Progress goes to standard error.")
        {
            node, data, file,
        };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            (Uri? address, string? directory) = Source(parse.GetValue(node), parse.GetValue(data));
            string? path = parse.GetValue(file);
            Stream output = path is null ? console.OpenOutput() : OpenFile(path, FileMode.Create, FileAccess.Write); // a new file is owner-only on Unix
            await using (Owned(output, path).ConfigureAwait(false))
            {
                PipeWriter pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(minimumBufferSize: 1 << 16, leaveOpen: true));
                try
                {
                    long records;
                    StreamProgress progress;
                    if (directory is not null)
                    {
                        IAssertionStore store = await OpenExistingStoreAsync(directory, token).ConfigureAwait(false);
                        await using (((IAsyncDisposable)store).ConfigureAwait(false))
                        {
                            progress = new StreamProgress(console, "export", totalRecords: await store.CountAsync(token).ConfigureAwait(false));
                            records = await AssertionStream.ExportAsync(store, pipe, progress, token).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        using GrpcSyncPeer peer = connection.CreatePeer(parse, address!);
                        PingResult ping = await peer.PingAsync(NodeId.Empty, token).ConfigureAwait(false);
                        progress = new StreamProgress(console, "export", totalRecords: ping.AssertionCount);
                        records = await AssertionStream.ExportAsync(peer, pipe, progress, token).ConfigureAwait(false);
                    }

                    await pipe.FlushAsync(token).ConfigureAwait(false);
                    await console.Error.WriteLineAsync(progress.Summary("exported", records, progress.Bytes)).ConfigureAwait(false);
                }
                finally
                {
                    await pipe.CompleteAsync().ConfigureAwait(false);
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Import(CliConsole console)
    {
        var (node, data, file, connection) = Arguments("The node to import into (its gRPC address): the stream is pushed to it, and it verifies every assertion; or give --data.", "Data directory (the SQLite store of serve --data; created if missing) to import into, instead of a node. The store must not be in use by a running serve.", "Read the stream from this file instead of standard input.");
        var command = new Command("import", "Read an assertion stream (docs/STREAM-FORMAT.md) from standard input or --file into a node, or into a data directory's store, verifying every assertion. A corrupt or truncated stream stops at the failing record (its byte offset is reported); the records before it stay stored. Progress goes to standard error.")
        {
            node, data, file,
        };
        connection.AddTo(command);
        command.SetAction((parse, ct) => connection.RunAsync(parse, console, ct, async token =>
        {
            (Uri? address, string? directory) = Source(parse.GetValue(node), parse.GetValue(data));
            string? path = parse.GetValue(file);
            Stream input = path is null ? console.OpenInput() : OpenFile(path, FileMode.Open, FileAccess.Read);
            await using (Owned(input, path).ConfigureAwait(false))
            {
                var progress = new StreamProgress(console, "import", totalBytes: input.CanSeek ? input.Length : null);
                PipeReader pipe = PipeReader.Create(input, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
                AssertionImportResult result;
                try
                {
                    result = directory is not null
                        ? await ImportIntoStoreAsync(directory, pipe, progress, token).ConfigureAwait(false)
                        : await PushAsync(connection.CreatePeer(parse, address!), pipe, progress, token).ConfigureAwait(false);
                }
                catch (AssertionStreamException ex)
                {
                    throw new CliException(ExitCodes.InvalidData, ex.Message, ex);
                }
                finally
                {
                    await pipe.CompleteAsync().ConfigureAwait(false);
                }

                await console.Error.WriteLineAsync(progress.Summary("imported", result.Records, result.Bytes)
                    + (directory is not null ? $", {result.Added:N0} new" : $", {result.Added:N0} accepted, {result.Rejected:N0} rejected")).ConfigureAwait(false);
                return result.Rejected > 0 ? ExitCodes.Failure : ExitCodes.Success;
            }
        }));
        return command;
    }

    private static (Argument<Uri?> Node, Option<string?> Data, Option<string?> File, ConnectionOptions Connection) Arguments(string node, string data, string file) => (
        new Argument<Uri?>("node") { Description = node, Arity = ArgumentArity.ZeroOrOne, CustomParser = CommandSupport.ParseAddress },
        new Option<string?>("--data") { Description = data, HelpName = "dir" },
        new Option<string?>("--file") { Description = file, HelpName = "file" },
        new ConnectionOptions());

    /// <summary>The <c>--file</c>; a file that cannot be opened is a local I/O error.</summary>
    private static FileStream OpenFile(string path, FileMode mode, FileAccess access)
    {
        try
        {
            // A file written holds every assertion of a node: one it creates is readable by its owner only (0600) on Unix.
            return access == FileAccess.Read
                ? new FileStream(path, mode, access, FileShare.Read, 1 << 16, useAsync: true)
                : StemeDb.Sync.Hosting.Internal.SecretFiles.CreateOwnerOnly(path, mode, 1 << 16, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.IOError, $"--file: cannot open '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>A file the command opened is closed at the end; standard input and output are left open.</summary>
    private static IAsyncDisposable Owned(Stream stream, string? path) => path is null ? NotOwned.Instance : stream;

    /// <summary>Exactly one of a node address and a data directory.</summary>
    private static (Uri? Address, string? Directory) Source(Uri? address, string? directory) => (address, directory) switch
    {
        (null, null) => throw new CliException(ExitCodes.Usage, "give a node address or --data DIR."),
        ({ }, { }) => throw new CliException(ExitCodes.Usage, "give a node address or --data DIR, not both."),
        _ => (address, directory),
    };

    private static async Task<IAssertionStore> OpenExistingStoreAsync(string directory, CancellationToken cancellationToken)
    {
        if (DataStores.Existing(directory) is null)
        {
            throw new CliException(ExitCodes.IOError, $"'{directory}' holds no assertion store ({DataStores.RocksDbDirectoryName}/ or {DataStores.SqliteFileName}).");
        }

        return (await DataStores.OpenAsync(directory, wanted: null, cancellationToken).ConfigureAwait(false)).Store;
    }

    private static async Task<AssertionImportResult> ImportIntoStoreAsync(string directory, PipeReader source, StreamProgress progress, CancellationToken cancellationToken)
    {
        NodeId nodeId = NodeServer.LoadOrCreateNodeId(directory);
        (IAssertionStore store, _) = await DataStores.OpenAsync(directory, wanted: null, cancellationToken).ConfigureAwait(false);
        await using (((IAsyncDisposable)store).ConfigureAwait(false))
        {
            var options = new SyncNodeOptions
            {
                NodeId = nodeId,
                ContentValidator = RkyvAssertionValidator.Instance,
                AntiEntropyInterval = Timeout.InfiniteTimeSpan,
                GossipFanout = 0,
            };
            var node = new SyncNode(options, store);
            await using (node.ConfigureAwait(false))
            {
                await node.StartAsync(cancellationToken).ConfigureAwait(false);
                return await AssertionStream.ImportAsync(source, node, progress, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<AssertionImportResult> PushAsync(GrpcSyncPeer peer, PipeReader source, StreamProgress progress, CancellationToken cancellationToken)
    {
        using (peer)
        {
            return await AssertionStream.PushAsync(source, peer, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class NotOwned : IAsyncDisposable
    {
        public static readonly NotOwned Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

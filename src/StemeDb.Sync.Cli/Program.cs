using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli;

internal static class Program
{
    // The stop signals of `serve`, registered before anything else runs and never unregistered: a SIGTERM or SIGINT at
    // any moment after this (start-up, serving, shutdown, even after "stopped") is a clean stop, not a kill.
    private static readonly CancellationTokenSource StopRequested = new();
    private static PosixSignalRegistration[] _stopSignals = [];

    public static async Task<int> Main(string[] args)
    {
        var console = new CliConsole(Console.Out, Console.Error, Console.In, Console.OpenStandardInput, Console.OpenStandardOutput);
        if (args.Length == 0 || args[0] != "serve")
        {
            return await StemeDbSyncCli.RunAsync(args, console).ConfigureAwait(false);
        }

        _stopSignals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal),
        ];
        await Console.Out.WriteLineAsync("starting").ConfigureAwait(false);
        await Console.Out.FlushAsync().ConfigureAwait(false);
        int code = await StemeDbSyncCli.RunAsync(args, console, StopRequested.Token).ConfigureAwait(false);
        GC.KeepAlive(_stopSignals);

        // A signal is serve's normal stop, whenever it came: cancelled before the command ran is a stop as well.
        return code == ExitCodes.Interrupted && StopRequested.IsCancellationRequested ? ExitCodes.Success : code;
    }

    private static void OnStopSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        StopRequested.Cancel();
    }
}

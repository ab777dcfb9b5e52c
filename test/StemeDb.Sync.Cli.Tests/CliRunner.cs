using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>Runs the command line in this process with captured standard streams.</summary>
internal sealed class CliRunner
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    public CliRunner(string input = "")
    {
        Console = new CliConsole(TextWriter.Synchronized(_out), TextWriter.Synchronized(_error), new StringReader(input));
    }

    public CliConsole Console { get; }

    public string Out
    {
        get
        {
            lock (Console.Out)
            {
                return _out.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (Console.Error)
            {
                return _error.ToString();
            }
        }
    }

    public static async Task<(int Code, string Out, string Error)> RunAsync(string input, params string[] args)
    {
        var runner = new CliRunner(input);
        int code = await runner.StartAsync(args, CancellationToken.None);
        return (code, runner.Out, runner.Error);
    }

    public Task<int> StartAsync(string[] args, CancellationToken cancellationToken) =>
        StemeDbSyncCli.RunAsync(args, Console, cancellationToken);
}

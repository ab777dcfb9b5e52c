using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>Runs the command line in this process with captured standard streams.</summary>
internal sealed partial class CliRunner
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    public CliRunner(string input = "", byte[]? binaryInput = null)
    {
        Console = new CliConsole(
            TextWriter.Synchronized(_out), TextWriter.Synchronized(_error), new StringReader(input), () => new MemoryStream(binaryInput ?? [], writable: false), () => BinaryOut);
    }

    /// <summary>What a command wrote to standard output as bytes (<c>export</c>).</summary>
    public MemoryStream BinaryOut { get; } = new();

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

    /// <summary>Waits until <c>serve</c>, started on this runner, prints its address; fails if it ends first.</summary>
    public async Task<string> WaitForAddressAsync(Task<int> serving, CancellationToken cancellationToken)
    {
        Match match;
        while (!(match = ListeningOn().Match(Out)).Success)
        {
            Assert.That(serving.IsCompleted, Is.False, () => "serve ended early: " + Error);
            await Task.Delay(20, cancellationToken);
        }

        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"listening on (https?://[^\s/]+:\d+)")]
    private static partial Regex ListeningOn();
}

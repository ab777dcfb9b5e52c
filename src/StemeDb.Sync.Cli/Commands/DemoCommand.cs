using System;
using System.CommandLine;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Commands;

/// <summary><c>demo</c>: three nodes, a partition and a heal, with convergence shown as it happens.</summary>
internal static class DemoCommand
{
    public static Command Create(CliConsole console)
    {
        var count = new Option<int>("--assertions", "-n")
        {
            Description = "Assertions written on each node in each of the two writing phases.",
            DefaultValueFactory = _ => 300,
        };
        count.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value is < 1 or > 1000)
            {
                result.AddError("--assertions must be between 1 and 1000.");
            }
        });
        var timeout = new Option<Seconds>("--timeout")
        {
            Description = "Give up (exit 1) if the nodes have not converged after this many seconds.",
            HelpName = "seconds",
            DefaultValueFactory = _ => new Seconds(TimeSpan.FromSeconds(50)),
            CustomParser = result => CommandSupport.ParseSeconds(result, "--timeout"),
        };
        var command = new Command("demo", "Start three real nodes on loopback gRPC, write on each, cut one off, keep writing, heal, and show convergence as it happens. Exits 0 only if all roots match. Leaves no process or file behind.")
        {
            count, timeout,
        };
        command.SetAction((parse, ct) => CommandSupport.RunAsync(console, ct, async token =>
        {
            var runner = new DemoRunner(new DemoSettings { AssertionsPerNode = parse.GetValue(count), Timeout = parse.GetValue(timeout) }, console.Out);
            DemoOutcome outcome = await runner.RunAsync(token).ConfigureAwait(false);
            return outcome.Converged ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }
}

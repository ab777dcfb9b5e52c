using System;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) =>
        StemeDbSyncCli.RunAsync(args, new CliConsole(Console.Out, Console.Error, Console.In, Console.OpenStandardInput, Console.OpenStandardOutput));
}

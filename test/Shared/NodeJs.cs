using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Runs the node.js interop scripts in <c>test/interop</c>.</summary>
internal static class NodeJs
{
    /// <summary>The <c>test/interop</c> folder of the repository the tests were built from.</summary>
    public static string InteropDirectory { get; } = FindInteropDirectory();

    /// <summary>Checks node and npm are present and runs <c>npm ci</c> once if the dependencies are not installed.</summary>
    public static async Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        (int nodeExit, string nodeVersion, _) = await RunAsync("node", ["--version"], cancellationToken, allowMissing: true);
        if (nodeExit != 0)
        {
            Assert.Fail("The interop tests need node.js (with npm) on the PATH; 'node --version' failed. Install node.js 18 or later.");
        }

        TestContext.Progress.WriteLine($"interop: node {nodeVersion.Trim()}");
        if (Directory.Exists(Path.Combine(InteropDirectory, "node_modules", "@grpc", "grpc-js"))
            && Directory.Exists(Path.Combine(InteropDirectory, "node_modules", "@grpc", "proto-loader")))
        {
            return;
        }

        (int npmExit, string stdout, string stderr) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], cancellationToken, allowMissing: true);
        if (npmExit != 0)
        {
            Assert.Fail($"'npm ci' in {InteropDirectory} failed ({npmExit}); the interop tests need npm and the npm registry.\n{stdout}\n{stderr}");
        }
    }

    /// <summary>Runs a script to completion and returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunScriptAsync(string script, IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        RunAsync("node", [Path.Combine(InteropDirectory, script), .. arguments], cancellationToken, allowMissing: false);

    /// <summary>Starts a long-running script; the caller kills it.</summary>
    public static Process Start(string script, params string[] arguments)
    {
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = InteropDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(InteropDirectory, script));
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("node did not start.");
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, bool allowMissing)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = InteropDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start.");
        }
        catch (System.ComponentModel.Win32Exception) when (allowMissing)
        {
            return (-1, string.Empty, $"{fileName} was not found.");
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return (process.ExitCode, await stdout, await stderr);
        }
    }

    /// <summary>Writes records in the JSON shape the scripts read.</summary>
    public static object ToJson(AssertionRecord record) => new Dictionary<string, object>
    {
        ["hash"] = Convert.ToHexStringLower(record.Hash.ToArray()),
        ["data"] = Convert.ToHexStringLower(record.Data.Span),
        ["hlc_time"] = record.Timestamp.Time.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["hlc_counter"] = record.Timestamp.Counter,
        ["hlc_node_id"] = Convert.ToHexStringLower(record.Timestamp.NodeId.ToArray()),
    };

    public static string WriteTempJson(object value)
    {
        string path = Path.Combine(Path.GetTempPath(), $"stemedb-interop-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(value));
        return path;
    }

    private static string FindInteropDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "proto", "sync.proto"))
                && File.Exists(Path.Combine(dir.FullName, "test", "interop", "package-lock.json")))
            {
                return Path.Combine(dir.FullName, "test", "interop");
            }
        }

        throw new InvalidOperationException($"test/interop was not found above {AppContext.BaseDirectory}.");
    }
}

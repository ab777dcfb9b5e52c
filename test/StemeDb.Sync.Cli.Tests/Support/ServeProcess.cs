using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Cli.Tests.Support;

/// <summary><c>stemedb-sync serve</c> (or any command) as a real child process of the built tool.</summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly StringBuilder _stderr = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _stderrWaiters = [];
    private readonly Task _stderrDrained;

    private ServeProcess(Process process)
    {
        Process = process;
        _stderrDrained = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(line);
                    foreach (var waiter in _stderrWaiters.Where(w => w.Match(line)).ToList())
                    {
                        _stderrWaiters.Remove(waiter);
                        waiter.Found.TrySetResult(line);
                    }
                }
            }

            lock (_stderr)
            {
                foreach (var waiter in _stderrWaiters)
                {
                    waiter.Found.TrySetException(new InvalidOperationException("the process closed standard error first"));
                }

                _stderrWaiters.Clear();
            }
        });
    }

    public Process Process { get; }

    /// <summary>What the process wrote to standard error so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the tool with these arguments.</summary>
    public static ServeProcess Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stemedb-sync.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new ServeProcess(Process.Start(start) ?? throw new InvalidOperationException("the tool did not start"));
    }

    /// <summary>The address <c>serve</c> prints once it listens; fails the test if it exits first.</summary>
    public async Task<Uri> WaitForAddressAsync(CancellationToken cancellationToken)
    {
        Match match = ListeningOn().Match(await WaitForLineAsync(line => ListeningOn().IsMatch(line), "listening", cancellationToken));
        return new Uri(match.Groups[1].Value);
    }

    /// <summary>Reads standard output up to the first line that matches; fails the test if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, CancellationToken cancellationToken)
    {
        while (await Process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (match(line))
            {
                return line;
            }
        }

        await _stderrDrained.WaitAsync(cancellationToken);
        Assert.Fail($"the process exited before {what}:\n{Stderr}");
        throw new InvalidOperationException();
    }

    /// <summary>
    /// The first line of standard error (so far, or still to come) that matches; fails the test if the process closes
    /// standard error first.
    /// </summary>
    public async Task<string> WaitForStderrLineAsync(Func<string, bool> match, string what, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stderr)
        {
            string? seen = _stderr.ToString().Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(match);
            if (seen is not null)
            {
                return seen;
            }

            if (_stderrDrained.IsCompleted)
            {
                Assert.Fail($"the process closed standard error before {what}:\n{_stderr}");
            }

            _stderrWaiters.Add((match, found));
        }

        try
        {
            return await found.Task.WaitAsync(cancellationToken);
        }
        catch (InvalidOperationException)
        {
            Assert.Fail($"the process closed standard error before {what}:\n{Stderr}");
            throw;
        }
    }

    /// <summary>Sends a POSIX signal (no-op once the process has exited).</summary>
    public void Signal(int signal) => _ = Kill(Process.Id, signal);

    /// <summary>Waits for the process to exit on its own; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        _ = await Process.StandardOutput.ReadToEndAsync(cancellationToken);
        await Process.WaitForExitAsync(cancellationToken);
        await _stderrDrained.WaitAsync(cancellationToken);
        return Process.ExitCode;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"listening on (https?://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}

using System;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Tests;

/// <summary><c>stemedb-sync serve</c> as a real child process, stopped by SIGTERM or SIGINT.</summary>
[TestFixture]
[NonParallelizable]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
public sealed partial class ServeProcessSignalTests
{
    private string _dataDirectory = null!;

    [SetUp]
    public void SetUp() => _dataDirectory = Path.Combine(Path.GetTempPath(), "stemedb-signal-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [TestCase("TERM")]
    [TestCase("INT")]
    [CancelAfter(60_000)]
    public async Task Serve_Signal_StopsCleanlyWithExitZeroAndKeepsItsData(string signal, CancellationToken cancellationToken)
    {
        using Process first = StartServe();
        Uri address = await ReadAddressAsync(first, cancellationToken);
        AssertionRecord record = TestAssertions.Record("signal:" + signal);
        using (GrpcSyncPeer peer = GrpcSyncPeer.Create(address))
        {
            GossipResult result = await peer.GossipAsync(record, cancellationToken);
            Assert.That(result.Accepted, Is.True, result.Error);
        }

        await SendSignalAsync(first.Id, signal, cancellationToken);
        string rest = await first.StandardOutput.ReadToEndAsync(cancellationToken);
        await first.WaitForExitAsync(cancellationToken);

        Assert.That(first.ExitCode, Is.EqualTo(0));
        Assert.That(rest, Does.Contain("stopping").And.Contain("stopped"));
        Assert.That(File.Exists(Path.Combine(_dataDirectory, "assertions.db-wal")), Is.False, "a clean stop closes the database, which checkpoints and removes the log");

        using Process second = StartServe();
        Uri again = await ReadAddressAsync(second, cancellationToken);
        using (GrpcSyncPeer peer = GrpcSyncPeer.Create(again))
        {
            PingResult ping = await peer.PingAsync(NodeId.Empty, cancellationToken);
            Assert.That(ping.AssertionCount, Is.EqualTo(1UL));
            Assert.That(await peer.FetchAsync([record.Hash], cancellationToken), Has.Count.EqualTo(1));
        }

        await SendSignalAsync(second.Id, "TERM", cancellationToken);
        await second.WaitForExitAsync(cancellationToken);
        Assert.That(second.ExitCode, Is.EqualTo(0));
    }

    private Process StartServe()
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "stemedb-sync.dll"), "serve", "--listen", "http://127.0.0.1:0", "--data", _dataDirectory })
        {
            start.ArgumentList.Add(arg);
        }

        Process process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        return process;
    }

    private static async Task<Uri> ReadAddressAsync(Process process, CancellationToken cancellationToken)
    {
        while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            Match match = ListeningOn().Match(line);
            if (match.Success)
            {
                return new Uri(match.Groups[1].Value);
            }
        }

        Assert.Fail("serve exited without listening");
        throw new InvalidOperationException();
    }

    private static async Task SendSignalAsync(int pid, string signal, CancellationToken cancellationToken)
    {
        using Process kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(cancellationToken);
        Assert.That(kill.ExitCode, Is.Zero);
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}

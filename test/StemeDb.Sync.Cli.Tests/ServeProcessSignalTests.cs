using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Tests;

/// <summary><c>stemedb-sync serve</c> as a real child process, stopped by SIGTERM or SIGINT.</summary>
[TestFixture]
[NonParallelizable]
[Platform(Exclude = "Win", Reason = "POSIX signals")]
public sealed class ServeProcessSignalTests
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
        using ServeProcess first = StartServe();
        Uri address = await first.WaitForAddressAsync(cancellationToken);
        AssertionRecord record = TestAssertions.Record("signal:" + signal);
        using (GrpcSyncPeer peer = GrpcSyncPeer.Create(address))
        {
            GossipResult result = await peer.GossipAsync(record, cancellationToken);
            Assert.That(result.Accepted, Is.True, result.Error);
        }

        await SendSignalAsync(first.Process.Id, signal, cancellationToken);
        string rest = await first.Process.StandardOutput.ReadToEndAsync(cancellationToken);

        Assert.That(await first.WaitForExitAsync(cancellationToken), Is.EqualTo(0));
        Assert.That(rest, Does.Contain("stopping").And.Contain("stopped"));
        Assert.That(File.Exists(Path.Combine(_dataDirectory, "assertions.db-wal")), Is.False, "a clean stop closes the database, which checkpoints and removes the log");

        using ServeProcess second = StartServe();
        Uri again = await second.WaitForAddressAsync(cancellationToken);
        using (GrpcSyncPeer peer = GrpcSyncPeer.Create(again))
        {
            PingResult ping = await peer.PingAsync(NodeId.Empty, cancellationToken);
            Assert.That(ping.AssertionCount, Is.EqualTo(1UL));
            Assert.That(await peer.FetchAsync([record.Hash], cancellationToken), Has.Count.EqualTo(1));
        }

        await SendSignalAsync(second.Process.Id, "TERM", cancellationToken);
        Assert.That(await second.WaitForExitAsync(cancellationToken), Is.EqualTo(0));
    }

    /// <summary>
    /// Any number of SIGTERM and SIGINT at any moment after the process took the signals ("starting"): during start-up
    /// (the store opening, Kestrel binding), while serving, and during shutdown. The moments come from a seeded random
    /// schedule; the exit code must be 0 whatever the schedule.
    /// </summary>
    [Test]
    [CancelAfter(240_000)]
    public async Task Serve_SignalsAtRandomMomentsOfStartUpAndShutdown_AlwaysExitsZero(CancellationToken cancellationToken)
    {
        const int Sigint = 2;
        const int Sigterm = 15;
        var random = new Random(20261202);
        for (int run = 0; run < 10; run++)
        {
            int signals = random.Next(1, 5);
            var moments = new int[signals];
            for (int i = 0; i < signals; i++)
            {
                moments[i] = random.Next(0, 300);
            }

            using ServeProcess serve = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--data", Path.Combine(_dataDirectory, run.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            await serve.WaitForLineAsync(line => line == "starting", "starting", cancellationToken);
            foreach (int moment in moments)
            {
                await Task.Delay(moment, cancellationToken);
                serve.Signal(random.Next(2) == 0 ? Sigterm : Sigint);
            }

            int code = await serve.WaitForExitAsync(cancellationToken);
            Assert.That(code, Is.Zero, $"run {run}: signals after {string.Join(", ", moments)} ms; stderr:\n{serve.Stderr}");
        }
    }

    private ServeProcess StartServe() => ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--data", _dataDirectory, "--store", "sqlite");

    private static async Task SendSignalAsync(int pid, string signal, CancellationToken cancellationToken)
    {
        using Process kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(cancellationToken);
        Assert.That(kill.ExitCode, Is.Zero);
    }

}

using System;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

[TestFixture]
[NonParallelizable]
public sealed class DemoTests
{
    [Test]
    [CancelAfter(90_000)]
    public async Task DemoRunner_ThreeNodesPartitionAndHeal_AllRootsMatchWithEveryAssertion(CancellationToken cancellationToken)
    {
        var output = new StringWriter();
        var runner = new DemoRunner(new DemoSettings { AssertionsPerNode = 40, Timeout = TimeSpan.FromSeconds(60) }, output);

        DemoOutcome outcome = await runner.RunAsync(cancellationToken);

        Assert.That(outcome.Converged, Is.True, output.ToString());
        Assert.That(outcome.ExpectedCount, Is.EqualTo(240));
        Assert.That(outcome.FinalRoots, Has.Count.EqualTo(3));
        Assert.That(outcome.FinalRoots.Select(r => r.Root).Distinct().Count(), Is.EqualTo(1));
        Assert.That(outcome.FinalRoots.Select(r => r.Count), Is.All.EqualTo(240UL));
        string text = output.ToString();
        Assert.That(text, Does.Contain("C has diverged"));
        Assert.That(text, Does.Contain("2 distinct roots"), "the partition must be visible before the heal");
        Assert.That(text.IndexOf("C has diverged", StringComparison.Ordinal), Is.LessThan(text.IndexOf("3. Healing", StringComparison.Ordinal)));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Demo_CommandLine_ExitsZeroAndLeavesNoListenerBehind(CancellationToken cancellationToken)
    {
        var runner = new CliRunner();

        int code = await runner.StartAsync(["demo", "--assertions", "30"], cancellationToken);

        Assert.That(code, Is.EqualTo(ExitCodes.Success), runner.Out + runner.Error);
        Assert.That(runner.Out, Does.Contain("CONVERGED: all three roots match."));
        string[] addresses = Regex.Matches(runner.Out, @"http://127\.0\.0\.1:(\d+)").Select(m => m.Groups[1].Value).Distinct().ToArray();
        Assert.That(addresses, Has.Length.EqualTo(3));
        foreach (string port in addresses)
        {
            using var client = new TcpClient();
            Assert.That(
                async () => await client.ConnectAsync("127.0.0.1", int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), cancellationToken),
                Throws.InstanceOf<SocketException>(),
                $"port {port} is still listening after the demo");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Demo_CancelledMidway_ExitsInterruptedAndStopsItsNodes(CancellationToken cancellationToken)
    {
        var runner = new CliRunner();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<int> run = runner.StartAsync(["demo", "--assertions", "1000"], cts.Token);
        while (!runner.Out.Contains("1. Writing", StringComparison.Ordinal))
        {
            await Task.Delay(20, cancellationToken);
        }

        await cts.CancelAsync();
        int code = await run;

        Assert.That(code, Is.EqualTo(ExitCodes.Interrupted));
        Assert.That(runner.Error, Does.Contain("interrupted"));
        foreach (Match match in Regex.Matches(runner.Out, @"http://127\.0\.0\.1:(\d+)"))
        {
            using var client = new TcpClient();
            Assert.That(
                async () => await client.ConnectAsync("127.0.0.1", int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), cancellationToken),
                Throws.InstanceOf<SocketException>());
        }
    }
}

using System;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Grpc.Tests.V1Reference;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>Two in-memory nodes started by <c>serve</c>; B names A with <c>--peer</c>.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeWithPeerTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_WithPeer_GossipsToItAndPullsFromItByAntiEntropy(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var a = new CliRunner();
        Task<int> servingA = a.StartAsync(["serve", "--listen", "http://127.0.0.1:0"], stop.Token);
        string addressA = await a.WaitForAddressAsync(servingA, cancellationToken);
        var b = new CliRunner();
        Task<int> servingB = b.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--peer", addressA, "--anti-entropy-interval", "0.3"], stop.Token);
        string addressB = await b.WaitForAddressAsync(servingB, cancellationToken);

        try
        {
            // B gossips its own writes to its peer A.
            var (putB, hashB, _) = await CliRunner.RunAsync(TestAssertions.Json("user:written-on-b"), "put", addressB);
            Assert.That(putB, Is.EqualTo(ExitCodes.Success));
            await WaitUntilFetchableAsync(addressA, hashB.Trim(), cancellationToken);

            // A does not know B; B's anti-entropy loop pulls A's writes.
            var (putA, hashA, _) = await CliRunner.RunAsync(TestAssertions.Json("user:written-on-a"), "put", addressA);
            Assert.That(putA, Is.EqualTo(ExitCodes.Success));
            await WaitUntilFetchableAsync(addressB, hashA.Trim(), cancellationToken);

            var (roots, rootsOut, _) = await CliRunner.RunAsync(string.Empty, "roots", addressA, addressB);
            Assert.That(roots, Is.EqualTo(ExitCodes.Success), rootsOut);
            Assert.That(b.Out, Does.Contain("peers " + addressA));
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.That(await servingB, Is.EqualTo(ExitCodes.Success), b.Error);
        Assert.That(await servingA, Is.EqualTo(ExitCodes.Success), a.Error);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_WithPeerDns_PeersWithTheNodeTheNameResolvesToAndGossipsToIt(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var a = new CliRunner();
        Task<int> servingA = a.StartAsync(["serve", "--listen", "http://127.0.0.1:0"], stop.Token);
        string addressA = await a.WaitForAddressAsync(servingA, cancellationToken);
        var b = new CliRunner();

        // localhost resolves to 127.0.0.1 (node A) and, where the machine has it, ::1 (nobody there: skipped).
        Task<int> servingB = b.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--peer-dns", $"localhost:{new Uri(addressA).Port}"], stop.Token);
        string addressB = await b.WaitForAddressAsync(servingB, cancellationToken);
        try
        {
            var (putB, hashB, _) = await CliRunner.RunAsync(TestAssertions.Json("user:written-on-b-found-by-dns"), "put", addressB);
            Assert.That(putB, Is.EqualTo(ExitCodes.Success));
            await WaitUntilFetchableAsync(addressA, hashB.Trim(), cancellationToken);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.That(await servingB, Is.EqualTo(ExitCodes.Success), b.Error);
        Assert.That(await servingA, Is.EqualTo(ExitCodes.Success), a.Error);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_DefaultOptionsV1Peer_CatchesUpItsAssertionsInTheFirstPass(CancellationToken cancellationToken)
    {
        await using ReferenceV1Host peer = await ReferenceV1Host.StartAsync();
        for (int i = 0; i < 6_000; i++)
        {
            peer.Server.Put(TestAssertions.Record($"user:v1-{i}"));
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var node = new CliRunner();
        string peerAddress = peer.Address.ToString().TrimEnd('/');
        Task<int> serving = node.StartAsync(["serve", "--listen", "http://127.0.0.1:0", "--peer", peerAddress], stop.Token);
        string address = await node.WaitForAddressAsync(serving, cancellationToken);

        try
        {
            // Default options: the interval is 30 s, but the first pass runs within 2 s of start.
            while (true)
            {
                var (code, output, _) = await CliRunner.RunAsync(string.Empty, "ping", address);
                Assert.That(code, Is.EqualTo(ExitCodes.Success), output);
                if (output.Contains(": 6000 assertions", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(100, cancellationToken);
            }

            Assert.That(peer.Server.Calls("FetchAssertions"), Is.EqualTo(6), "6,000 pulled in fetches of 1,000");
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.That(await serving, Is.EqualTo(ExitCodes.Success), node.Error);
    }

    [Test]
    public async Task Fetch_FromV1Node_PrintsNullHlcAndTheDecodedAssertion()
    {
        await using ReferenceV1Host peer = await ReferenceV1Host.StartAsync();
        AssertionRecord record = TestAssertions.Record("user:from-v1");
        peer.Server.Put(record);

        var (code, output, error) = await CliRunner.RunAsync(string.Empty, "fetch", peer.Address.ToString().TrimEnd('/'), record.Hash.ToString());

        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output, Does.Contain($"\"hash\":\"{record.Hash}\""));
        Assert.That(output, Does.Contain("\"hlc\":null"), "a v1 node sends no HLC with the record");
        Assert.That(output, Does.Contain("user:from-v1"));
    }

    private static async Task WaitUntilFetchableAsync(string address, string hash, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (code, _, _) = await CliRunner.RunAsync(string.Empty, "fetch", address, hash, "--hex");
            if (code == ExitCodes.Success)
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}

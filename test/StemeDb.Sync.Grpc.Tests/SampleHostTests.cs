using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>
/// <c>samples/GrpcHost</c> run as its README says (the built program, with the README's arguments): two nodes on
/// loopback, the second ingests and gossips to the first, and with <c>--token</c> the endpoint requires ASP.NET Core
/// authorization.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SampleHostTests
{
    private const string Token = "sample-token-0123456789";

    [Test]
    [CancelAfter(120_000)]
    public async Task GrpcHost_TwoNodesWithToken_GossipArrivesAndCallsWithoutTheTokenAreRefused(CancellationToken cancellationToken)
    {
        int portA = FreePort();
        int portB = FreePort();
        using Process a = StartSample("--port", portA.ToString(), "--token", Token);
        try
        {
            var address = new Uri($"http://127.0.0.1:{portA}");
            var tokenOptions = new GrpcSyncPeerOptions();
            tokenOptions.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(Token);
            using GrpcSyncPeer withToken = GrpcSyncPeer.Create(address, tokenOptions);
            using GrpcSyncPeer anonymous = GrpcSyncPeer.Create(address);
            await Poll.UntilAsync(async () => await TryCountAsync(withToken, cancellationToken) == 0, cancellationToken);

            using Process b = StartSample("--port", portB.ToString(), "--peer", address.ToString(), "--ingest", "hello", "--token", Token);
            try
            {
                await Poll.UntilAsync(async () => await TryCountAsync(withToken, cancellationToken) == 1, cancellationToken);
            }
            finally
            {
                b.Kill(entireProcessTree: true);
            }

            var refused = Assert.ThrowsAsync<SyncPeerException>(async () => await anonymous.PingAsync(NodeId.NewId(), cancellationToken));
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
            Assert.That((await withToken.PingAsync(NodeId.NewId(), cancellationToken)).AssertionCount, Is.EqualTo(1));
        }
        finally
        {
            a.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The node's count, or -1 while it is not serving yet.</summary>
    private static async Task<long> TryCountAsync(GrpcSyncPeer peer, CancellationToken cancellationToken)
    {
        try
        {
            return (await peer.PingAsync(NodeId.NewId(), cancellationToken)).AssertionCount;
        }
        catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.Unavailable)
        {
            return -1;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartSample(params string[] arguments)
    {
        // The sample is built with the solution, in the configuration of this test assembly.
        string testDirectory = AppContext.BaseDirectory; // test/StemeDb.Sync.Grpc.Tests/bin/<configuration>/<tfm>/
        string tfm = new DirectoryInfo(testDirectory).Name;
        string configuration = new DirectoryInfo(testDirectory).Parent!.Name;
        string repository = Path.GetFullPath(Path.Combine(testDirectory, "..", "..", "..", "..", ".."));
        string program = Path.Combine(repository, "samples", "GrpcHost", "bin", configuration, tfm, "GrpcHost.dll");
        Assert.That(File.Exists(program), Is.True, $"the sample is built with the solution: {program}");

        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(program);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("the sample did not start.");
        process.OutputDataReceived += (_, e) => TestContext.Progress.WriteLine($"[sample {arguments[1]}] {e.Data}");
        process.ErrorDataReceived += (_, e) => TestContext.Progress.WriteLine($"[sample {arguments[1]}] {e.Data}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}

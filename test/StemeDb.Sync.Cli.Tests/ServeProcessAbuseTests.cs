using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// Well-formed abuse against <c>stemedb-sync serve</c> with default settings, as a real process: calls that follow the
/// wire format but ask for far more than an honest peer would. Each attack is contained: the node stays up, its memory
/// stays bounded, and honest callers keep being served (docs/RELIABILITY.md, "Abuse matrix").
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeProcessAbuseTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    [CancelAfter(180_000)]
    public async Task Serve_TenConcurrentFetchesNamingOneLargeAssertionAThousandTimes_AnswersItOnceAndGrowsByAtMost256MiB(CancellationToken cancellationToken)
    {
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0");
        Uri address = await node.WaitForAddressAsync(cancellationToken);
        using GrpcSyncPeer client = GrpcSyncPeer.Create(address, new GrpcSyncPeerOptions { MaxReceiveMessageSize = 64 * (int)MiB });
        AssertionRecord large = LargeRecord(1_000_000);
        GossipResult pushed = await client.GossipAsync(large, cancellationToken);
        Assert.That(pushed.Accepted, Is.True, pushed.Error);
        long before = ResidentBytes(node.Process.Id, "VmRSS");
        TimeSpan cpuBefore = Cpu(node.Process);

        AssertionHash[] sameHashAThousandTimes = Enumerable.Repeat(large.Hash, SyncProtocol.MaxFetchHashes).ToArray();
        Task<IReadOnlyList<AssertionRecord>>[] calls = Enumerable.Range(0, 10)
            .Select(_ => client.FetchAsync(sameHashAThousandTimes, cancellationToken).AsTask())
            .ToArray();
        IReadOnlyList<AssertionRecord>[] answers = await Task.WhenAll(calls);
        long peak = ResidentBytes(node.Process.Id, "VmHWM");
        TimeSpan cpu = Cpu(node.Process) - cpuBefore;
        TestContext.Out.WriteLine($"fetch attack: resident {before / MiB} MiB before, peak {peak / MiB} MiB after (+{(peak - before) / MiB} MiB); node CPU {cpu.TotalMilliseconds:F0} ms");
        PingResult alive = await client.PingAsync(NodeId.NewId(), cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(answers.Select(a => a.Count), Is.All.EqualTo(1), "each hash is answered once");
            Assert.That(answers.SelectMany(a => a).Select(r => r.Hash), Is.All.EqualTo(large.Hash));
            Assert.That(peak - before, Is.LessThanOrEqualTo(256 * MiB), $"grew from {before / MiB} MiB to a peak of {peak / MiB} MiB");
            Assert.That(alive.AssertionCount, Is.EqualTo(1), "the node is still up");
        });
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Serve_ThreeHundredWrongTokenPingsFromAnAddress_TheRightTokenFromTheSameAddressStillWorks(CancellationToken cancellationToken)
    {
        string directory = Directory.CreateTempSubdirectory("stemedb-abuse-").FullName;
        try
        {
            const string Token = "the-right-token-of-this-cluster-0123";
            string tokenFile = Path.Combine(directory, "token");
            await File.WriteAllTextAsync(tokenFile, Token + "\n", cancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile);
            Uri address = await node.WaitForAddressAsync(cancellationToken);
            using GrpcSyncPeer wrong = Client(address, "not-the-token-of-this-cluster-9876");
            using GrpcSyncPeer right = Client(address, Token);

            var codes = new Dictionary<SyncStatusCode, int>();
            for (int i = 0; i < 300; i++)
            {
                try
                {
                    await wrong.PingAsync(NodeId.NewId(), cancellationToken);
                    Assert.Fail("a wrong token was accepted");
                }
                catch (SyncPeerException ex)
                {
                    codes[ex.Code] = codes.GetValueOrDefault(ex.Code) + 1;
                }
            }

            var answered = new List<PingResult>();
            for (int i = 0; i < 5; i++)
            {
                answered.Add(await right.PingAsync(NodeId.NewId(), cancellationToken));
            }

            Assert.Multiple(() =>
            {
                Assert.That(codes.Keys, Is.SubsetOf(new[] { SyncStatusCode.Unauthenticated, SyncStatusCode.ResourceExhausted }), string.Join(", ", codes));
                Assert.That(codes.GetValueOrDefault(SyncStatusCode.ResourceExhausted), Is.GreaterThan(0), "the address's failures are limited");
                Assert.That(answered, Has.Count.EqualTo(5), "the right token from the same address is served every time");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Serve_GossipBatchesOfRejectedItems_LoggedOncePerPeerNotOncePerItem(CancellationToken cancellationToken)
    {
        using ServeProcess node = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0");
        Uri address = await node.WaitForAddressAsync(cancellationToken);
        using GrpcSyncPeer client = GrpcSyncPeer.Create(address);
        AssertionRecord[] garbage = Enumerable.Range(0, 100).Select(i =>
        {
            byte[] data = BitConverter.GetBytes(i); // not an rkyv archive: rejected by the content check
            return new AssertionRecord(AssertionHash.Compute(data), data, HlcTimestamp.None);
        }).ToArray();

        int rejected = 0, refused = 0;
        for (int i = 0; i < 5; i++)
        {
            try
            {
                rejected += (await client.GossipBatchAsync(garbage, cancellationToken)).Count(r => !r.Accepted);
            }
            catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.ResourceExhausted)
            {
                refused++; // past the rejected-request limit
            }
        }

        node.Signal(15); // SIGTERM: a clean stop flushes the log
        Assert.That(await node.WaitForExitAsync(cancellationToken), Is.Zero);
        string[] rejectionLines = node.Stderr.Split('\n').Where(l => l.Contains("rejected", StringComparison.OrdinalIgnoreCase)).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(rejected, Is.EqualTo(500), "every batch answered item by item");
            Assert.That(refused, Is.Zero, "a batch counts as one rejected request: five are within the limit");
            Assert.That(rejectionLines, Has.Length.EqualTo(1), "one line for 500 rejected pushes:\n" + string.Join("\n", rejectionLines.Take(5)));
            Assert.That(rejectionLines[0], Does.Contain("GossipBatch from ipv4:127.0.0.1: a pushed assertion was rejected"), rejectionLines[0]);
            Assert.That(rejectionLines, Has.All.Contains("ipv4:127.0.0.1"), "each line names the peer");
        });
    }

    private static GrpcSyncPeer Client(Uri address, string token)
    {
        var options = new GrpcSyncPeerOptions();
        options.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(token);
        return GrpcSyncPeer.Create(address, options);
    }

    /// <summary>A valid assertion of about <paramref name="textLength"/> bytes, stamped now.</summary>
    private static AssertionRecord LargeRecord(int textLength)
    {
        var assertion = new Assertion(
            "abuse:large",
            "test/value",
            AssertionValue.FromText(new string('x', textLength)),
            new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, TestAssertions.Author),
            TestAssertions.Author);
        byte[] data = AssertionCodec.Encode(assertion);
        return new AssertionRecord(AssertionHash.Compute(data), data, assertion.Hlc);
    }

    private static TimeSpan Cpu(System.Diagnostics.Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    /// <summary>A memory figure of a process from <c>/proc/PID/status</c> (Linux): VmRSS now, or VmHWM, the peak so far.</summary>
    private static long ResidentBytes(int pid, string field)
    {
        Assume.That(OperatingSystem.IsLinux(), "reads /proc");
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                string kilobytes = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidDataException($"/proc/{pid}/status has no {field}.");
    }
}

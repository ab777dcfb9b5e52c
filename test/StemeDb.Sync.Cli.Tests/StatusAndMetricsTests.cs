using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;
using V1 = StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// What an operator sees of two real <c>serve</c> processes: <c>status</c> (table and <c>--json</c>), the Prometheus
/// metrics at <c>--metrics-listen</c>, the health check beside them, and that every metric the sample Grafana dashboard
/// charts is exported by a node that has synced.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class StatusAndMetricsTests
{
    private const string Token = "status-token-0123456789";

    [Test]
    [CancelAfter(180_000)]
    public async Task Serve_AfterCatchingUp_StatusSaysInSyncAndMetricsCarryEveryDashboardSeries(CancellationToken cancellationToken)
    {
        string tokenFile = Path.Combine(Path.GetTempPath(), $"stemedb-status-token-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(tokenFile, Token + "\n", cancellationToken);
        try
        {
            using ServeProcess b = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--token-file", tokenFile);
            Uri addressB = await b.WaitForAddressAsync(cancellationToken);
            for (int i = 0; i < 3; i++)
            {
                await PutAsync(addressB, $"user:status-b{i}", tokenFile);
            }

            using ServeProcess a = ServeProcess.Start(
                "serve", "--listen", "http://127.0.0.1:0", "--peer", addressB.ToString(), "--token-file", tokenFile,
                "--metrics-listen", "http://127.0.0.1:0", "--anti-entropy-interval", "0.2");
            Uri addressA = await a.WaitForAddressAsync(cancellationToken);
            Uri metrics = new(Regex.Match(await a.WaitForLineAsync(l => l.StartsWith("metrics on ", StringComparison.Ordinal), "the metrics address", cancellationToken), "http://\\S+").Value);

            JsonElement caughtUp = await WaitForStatusAsync(addressA, tokenFile, s => s.GetProperty("count").GetInt64() == 3, cancellationToken);

            // Traffic of every kind the dashboard charts: a push to A (received, then gossiped on to B), a record only B
            // gets (fetched by A's next pass), a call without the token (refused) and a push with a wrong hash (rejected).
            await PutAsync(addressA, "user:status-a", tokenFile);
            await PutAsync(addressB, "user:status-b-late", tokenFile);
            (int refused, _, _) = await CliRunner.RunAsync(string.Empty, "ping", addressA.ToString());
            using (GrpcChannel channel = GrpcChannel.ForAddress(addressA))
            {
                var client = new V1.SyncService.SyncServiceClient(channel);
                var headers = new Metadata { { "authorization", "Bearer " + Token } };
                V1.GossipResponse rejected = await client.GossipAsync(
                    new V1.GossipRequest { AssertionHash = ByteString.CopyFrom(new byte[32]), AssertionData = ByteString.CopyFromUtf8("not the hash's data") },
                    headers,
                    cancellationToken: cancellationToken);
                Assert.That(rejected.Accepted, Is.False);
            }

            JsonElement synced = await WaitForStatusAsync(addressA, tokenFile, s => s.GetProperty("count").GetInt64() == 5, cancellationToken);
            (int statusExit, string table, string statusError) = await CliRunner.RunAsync(string.Empty, "status", addressA.ToString(), "--token-file", tokenFile);
            using var http = new HttpClient();
            string scrape = await http.GetStringAsync(metrics, cancellationToken);
            using HttpResponseMessage health = await http.GetAsync(new Uri(metrics, "/healthz"), cancellationToken);
            string healthText = await health.Content.ReadAsStringAsync(cancellationToken);
            using HttpResponseMessage elsewhere = await http.GetAsync(new Uri(metrics, "/other"), cancellationToken);

            JsonElement peer = synced.GetProperty("peers").EnumerateArray().Single();
            HashSet<string> exported = [.. scrape.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => Regex.Match(l, "^[a-zA-Z_:][a-zA-Z0-9_:]*").Value)];
            string[] charted = DashboardMetrics();
            Assert.Multiple(() =>
            {
                Assert.That(caughtUp.GetProperty("inSync").GetBoolean(), Is.True);
                Assert.That(peer.GetProperty("state").GetString(), Is.EqualTo("in_sync"));
                Assert.That(peer.GetProperty("missing").GetInt64(), Is.Zero);
                Assert.That(peer.GetProperty("lastPassAt").ValueKind, Is.EqualTo(JsonValueKind.String));
                Assert.That(peer.GetProperty("address").GetString(), Does.Contain(addressB.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                Assert.That(statusExit, Is.EqualTo(ExitCodes.Success), statusError);
                Assert.That(table, Does.Contain("in_sync").And.Contain("5 assertions"));
                Assert.That(refused, Is.EqualTo(ExitCodes.Unavailable), "a call without the token is refused");
                Assert.That(charted, Has.Length.GreaterThanOrEqualTo(5));
                Assert.That(charted.Where(m => !exported.Contains(m)), Is.Empty, "every series the dashboard charts is exported:\n" + scrape);
                Assert.That(scrape, Does.Match("stemedb_sync_peer_missing\\{[^}]*\\} 0\\b"));
                Assert.That(scrape, Does.Match("stemedb_sync_assertions\\{[^}]*\\} 5\\b"));
                Assert.That(health.IsSuccessStatusCode, Is.True);
                Assert.That(healthText, Is.EqualTo("Healthy"));
                Assert.That((int)elsewhere.StatusCode, Is.EqualTo(404));
            });
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Status_PeerUnreachable_ExitsOneAndNamesTheState(CancellationToken cancellationToken)
    {
        using ServeProcess a = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--peer", "http://127.0.0.1:1", "--anti-entropy-interval", "0.2", "--timeout", "2");
        Uri addressA = await a.WaitForAddressAsync(cancellationToken);

        JsonElement status = await WaitForStatusAsync(addressA, null, s => s.GetProperty("peers")[0].GetProperty("state").GetString() == "unreachable", cancellationToken);
        (int exit, string json, _) = await CliRunner.RunAsync(string.Empty, "status", addressA.ToString(), "--json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Failure));
        Assert.That(status.GetProperty("inSync").GetBoolean(), Is.False);
        Assert.That(status.GetProperty("peers")[0].GetProperty("lastError").GetString(), Does.StartWith("Unavailable"));
        Assert.That(JsonDocument.Parse(json).RootElement.GetProperty("peers")[0].GetProperty("lastSuccessAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Serve_DefaultLogLevel_LogsACatchUpsProgressAndThePassThatMovedData(CancellationToken cancellationToken)
    {
        // 1,500 assertions on b (a catch-up of 1,000 or more logs its progress), pushed as one assertion stream.
        var records = new InMemoryAssertionStore();
        for (int i = 0; i < 1_500; i++)
        {
            await records.PutAsync(TestAssertions.Record($"user:catch-up-{i}"), cancellationToken);
        }

        using var stream = new MemoryStream();
        await AssertionStream.ExportAsync(records, stream, cancellationToken: cancellationToken);
        using ServeProcess b = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0");
        Uri addressB = await b.WaitForAddressAsync(cancellationToken);
        var import = new CliRunner(binaryInput: stream.ToArray());
        Assert.That(await import.StartAsync(["import", addressB.ToString()], cancellationToken), Is.EqualTo(ExitCodes.Success), import.Error);

        using ServeProcess a = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--peer", addressB.ToString(), "--anti-entropy-interval", "0.2");
        await a.WaitForAddressAsync(cancellationToken);

        string progress = await a.WaitForStderrLineAsync(l => l.Contains("Catching up from", StringComparison.Ordinal), "a catch-up progress line", cancellationToken);
        string moved = await a.WaitForStderrLineAsync(l => l.Contains("AntiEntropyMovedData", StringComparison.Ordinal) || l.Contains("fetched 1500", StringComparison.Ordinal), "the pass's summary", cancellationToken);

        Assert.That(progress, Does.StartWith("info:").And.Contain("of about 1500 assertions"));
        Assert.That(moved, Does.StartWith("info:").And.Contain("fetched 1500"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_OtlpCollectorUnreachable_ServesAnyway(CancellationToken cancellationToken)
    {
        using ServeProcess a = ServeProcess.Start("serve", "--listen", "http://127.0.0.1:0", "--otlp-endpoint", "http://127.0.0.1:1");
        Uri address = await a.WaitForAddressAsync(cancellationToken);

        (int ping, string output, string error) = await CliRunner.RunAsync(string.Empty, "ping", address.ToString());

        Assert.That(ping, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output, Does.Contain("0 assertions"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StatusWatch_Json_PrintsOneObjectPerRefreshUntilInterrupted(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var server = new CliRunner();
        Task<int> serving = server.StartAsync(["serve", "--listen", "http://127.0.0.1:0"], stop.Token);
        string address = await server.WaitForAddressAsync(serving, cancellationToken);
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watcher = new CliRunner();

        Task<int> watching = watcher.StartAsync(["status", address, "--json", "--watch", "--interval", "0.05"], interrupt.Token);
        while (watcher.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < 3)
        {
            Assert.That(watching.IsCompleted, Is.False, () => "status --watch ended early: " + watcher.Error);
            await Task.Delay(20, cancellationToken); // polls the other command's output; the line count decides
        }

        await interrupt.CancelAsync();
        int exit = await watching;
        await stop.CancelAsync();
        await serving;

        string[] lines = watcher.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(exit, Is.EqualTo(ExitCodes.Interrupted));
        Assert.That(lines, Has.Length.GreaterThanOrEqualTo(3));
        Assert.That(lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("count").GetInt64()), Has.All.EqualTo(0));
        Assert.That(lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("inSync").GetBoolean()), Has.All.True, "a node without peers is in sync");
    }

    /// <summary>The metric names the sample dashboard's queries read (samples/Monitoring/grafana-dashboard.json).</summary>
    private static string[] DashboardMetrics()
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository.Root(), "samples", "Monitoring", "grafana-dashboard.json")));
        return dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .SelectMany(target => MetricName().Matches(target.GetProperty("expr").GetString()!).Select(m => m.Value))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    private static async Task PutAsync(Uri node, string subject, string tokenFile)
    {
        (int code, _, string error) = await CliRunner.RunAsync(TestAssertions.Json(subject), "put", node.ToString(), "--token-file", tokenFile);
        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
    }

    /// <summary>Asks for <c>status --json</c> until the condition holds (each answer is a fresh call; the test's deadline bounds it).</summary>
    private static async Task<JsonElement> WaitForStatusAsync(Uri node, string? tokenFile, Func<JsonElement, bool> condition, CancellationToken cancellationToken)
    {
        string[] args = tokenFile is null ? ["status", node.ToString(), "--json"] : ["status", node.ToString(), "--json", "--token-file", tokenFile];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (int code, string output, string error) = await CliRunner.RunAsync(string.Empty, args);
            Assert.That(code, Is.AnyOf(ExitCodes.Success, ExitCodes.Failure), error);
            JsonElement status = JsonDocument.Parse(output).RootElement.Clone();
            if (condition(status) && (code == ExitCodes.Success) == status.GetProperty("inSync").GetBoolean()
                && (tokenFile is null || code == ExitCodes.Success))
            {
                return status;
            }

            await Task.Delay(100, cancellationToken); // between polls of another process; the condition, not the wait, decides
        }
    }

    [GeneratedRegex("stemedb_sync_[a-z_]+")]
    private static partial Regex MetricName();
}

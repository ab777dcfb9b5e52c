using System;
using System.CommandLine;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>The command line keeps no engine defaults of its own: they are the core's (<see cref="SyncNodeOptions"/>).</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class EngineDefaultsTests
{
    private static readonly SyncNodeOptions Core = new();

    [TestCase("ping", "http://127.0.0.1:1")]
    [TestCase("roots", "http://127.0.0.1:1")]
    [TestCase("leaves", "http://127.0.0.1:1")]
    [TestCase("fetch", "http://127.0.0.1:1", "0000000000000000000000000000000000000000000000000000000000000000")]
    [TestCase("put", "http://127.0.0.1:1")]
    [TestCase("sync", "http://127.0.0.1:1")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0")]
    public void Timeout_NotGiven_IsTheCorePeerCallTimeout(params string[] args)
    {
        ParseResult parse = StemeDbSyncCli.Build(new CliRunner().Console).Parse(args);

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.GetValue<Seconds>("--timeout").Value, Is.EqualTo(Core.PeerCallTimeout));
    }

    [Test]
    public void Serve_AntiEntropyIntervalNotGiven_IsTheCoreDefault()
    {
        ParseResult parse = StemeDbSyncCli.Build(new CliRunner().Console).Parse(["serve", "--listen", "http://127.0.0.1:0"]);

        Assert.That(parse.GetValue<Seconds>("--anti-entropy-interval").Value, Is.EqualTo(Core.AntiEntropyInterval));
    }

    [Test]
    public async Task NodeServer_NothingConfigured_EngineSettingsAreTheCoreDefaults(CancellationToken cancellationToken)
    {
        await using NodeServer server = await NodeServer.StartAsync(
            new NodeServerSettings { Listen = new Uri("http://127.0.0.1:0"), MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.None },
            cancellationToken);
        SyncNodeOptions hosted = server.Services.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        foreach (PropertyInfo property in typeof(SyncNodeOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.Name is not nameof(SyncNodeOptions.NodeId) and not nameof(SyncNodeOptions.ContentValidator))
            {
                Assert.That(property.GetValue(hosted), Is.EqualTo(property.GetValue(Core)), property.Name);
            }
        }

        Assert.That(hosted.NodeId, Is.EqualTo(server.Node.NodeId));
    }

    [Test]
    public async Task NodeServer_EngineSettingsGiven_ReachTheNode(CancellationToken cancellationToken)
    {
        await using NodeServer server = await NodeServer.StartAsync(
            new NodeServerSettings
            {
                Listen = new Uri("http://127.0.0.1:0"),
                MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.None,
                ConfigureNode = o =>
                {
                    o.PeerCallTimeout = TimeSpan.FromSeconds(7);
                    o.AntiEntropyInterval = TimeSpan.FromSeconds(70);
                },
            },
            cancellationToken);
        SyncNodeOptions hosted = server.Services.GetRequiredService<IOptions<SyncNodeOptions>>().Value;

        Assert.That(hosted.PeerCallTimeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
        Assert.That(hosted.AntiEntropyInterval, Is.EqualTo(TimeSpan.FromSeconds(70)));
        Assert.That(hosted.AntiEntropyJitter, Is.Null, "the core derives the jitter from the interval");
    }
}

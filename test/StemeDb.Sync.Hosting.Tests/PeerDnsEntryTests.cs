using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>The syntax of DNS peer entries, and which SRV records name peers.</summary>
[TestFixture]
public sealed class PeerDnsEntryTests
{
    [TestCase("stemedb.default.svc.cluster.local:5000", null, "stemedb.default.svc.cluster.local", 5000)]
    [TestCase("https://nodes.example:443", "https", "nodes.example", 443)]
    [TestCase("_grpc._tcp.stemedb.default.svc.cluster.local", null, "_grpc._tcp.stemedb.default.svc.cluster.local", 0)]
    [TestCase("http://_grpc._tcp.nodes.example.", "http", "_grpc._tcp.nodes.example", 0)]
    [TestCase("nodes.example", null, "nodes.example", 0)]
    public void TryParse_GoodEntry_GivesSchemeHostAndPortOr0ForSrv(string text, string? scheme, string host, int port)
    {
        bool parsed = PeerDnsEntry.TryParse(text, out string? parsedScheme, out string? parsedHost, out int parsedPort, out string? problem);

        Assert.That(parsed, Is.True, problem);
        Assert.That((parsedScheme, parsedHost, parsedPort), Is.EqualTo((scheme, host, port)));
    }

    [TestCase("")]
    [TestCase("nodes")]
    [TestCase("nodes..example")]
    [TestCase("nodes example.test")]
    [TestCase("-nodes.example")]
    [TestCase("10.0.0.1")]
    [TestCase("nodes.example:99999")]
    [TestCase("nodes.example:")]
    [TestCase(":5000")]
    [TestCase("ftp://nodes.example")]
    public void TryParse_BadEntry_FailsWithAProblemNamingBothForms(string text)
    {
        bool parsed = PeerDnsEntry.TryParse(text, out string? scheme, out string? host, out int port, out string? problem);

        Assert.That(parsed, Is.False);
        Assert.That((scheme, host, port), Is.EqualTo(((string?)null, (string?)null, 0)));
        Assert.That(problem, Does.Contain($"'{text}'").And.Contain("NAME:PORT").And.Contain("SRV"));
    }

    [Test]
    public void Targets_SeveralPriorities_AreTheLowestPriorityRecordsOnlyWhateverTheirWeight()
    {
        SrvRecord[] records =
        [
            new(10, 0, 5000, "backup.example"),
            new(1, 90, 5000, "a.example"),
            new(1, 10, 5001, "b.example"),
            new(1, 5, 5001, "b.example"),
        ];

        Assert.That(PeerDirectory.Targets(records), Is.EqualTo(new[] { ("a.example", 5000), ("b.example", 5001) }));
    }

    [Test]
    public void Targets_RootTargetOrPort0_AreSkipped()
    {
        SrvRecord[] records = [new(0, 0, 0, string.Empty), new(0, 0, 0, "a.example"), new(5, 0, 5000, "b.example")];

        Assert.That(PeerDirectory.Targets(records), Is.EqualTo(new[] { ("b.example", 5000) }));
    }
}

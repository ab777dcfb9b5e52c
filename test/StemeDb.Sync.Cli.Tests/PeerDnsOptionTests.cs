using System.CommandLine;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

/// <summary><c>serve --peer-dns</c>: NAME:PORT for A/AAAA records, NAME alone for SRV records.</summary>
[TestFixture]
public sealed class PeerDnsOptionTests
{
    [Test]
    public void Serve_PeerDnsWithAndWithoutPort_ParsesBoth()
    {
        ParseResult parse = StemeDbSyncCli.Build(new CliRunner().Console).Parse(
            ["serve", "--listen", "http://127.0.0.1:0", "--peer-dns", "_grpc._tcp.stemedb.default.svc.cluster.local", "--peer-dns", "stemedb.default.svc.cluster.local:5000"]);

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.GetValue<string[]>("--peer-dns"), Is.EqualTo(new[] { "_grpc._tcp.stemedb.default.svc.cluster.local", "stemedb.default.svc.cluster.local:5000" }));
    }

    [Test]
    public async Task Serve_PeerDnsNotAName_ExitsUsageNamingBothForms()
    {
        var (code, output, error) = await CliRunner.RunAsync(string.Empty, "serve", "--listen", "http://127.0.0.1:0", "--peer-dns", "nodes example");

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("--peer-dns: 'nodes example' is neither NAME:PORT").And.Contain("SRV records"));
    }
}

using System.Linq;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;

namespace StemeDb.Sync.Cli.Tests;

[TestFixture]
public sealed class UsageTests
{
    [TestCase("serve")]
    [TestCase("ping")]
    [TestCase("roots")]
    [TestCase("leaves")]
    [TestCase("fetch")]
    [TestCase("put")]
    [TestCase("sync")]
    [TestCase("codec")]
    [TestCase("codec encode")]
    [TestCase("codec decode")]
    [TestCase("demo")]
    [TestCase("export")]
    [TestCase("import")]
    public async Task Help_EveryCommand_PrintsUsageAndExitsZero(string command)
    {
        string[] args = [.. command.Split(' '), "--help"];

        var (code, output, _) = await CliRunner.RunAsync(string.Empty, args);

        Assert.That(code, Is.EqualTo(ExitCodes.Success));
        Assert.That(output, Does.Contain("Usage:"));
        Assert.That(output, Does.Contain(command.Split(' ')[^1]));
    }

    [TestCase("ping", "--timeout")]
    [TestCase("serve", "--timeout")]
    [TestCase("serve", "--anti-entropy-interval")]
    public async Task Help_SecondsOption_ShowsItsDefaultInSeconds(string command, string option)
    {
        var core = new SyncNodeOptions();
        double expected = option == "--timeout" ? core.PeerCallTimeout.TotalSeconds : core.AntiEntropyInterval.TotalSeconds;

        var (_, output, _) = await CliRunner.RunAsync(string.Empty, command, "--help");

        string line = System.Array.Find(output.Split('\n'), l => l.TrimStart().StartsWith(option + " ", System.StringComparison.Ordinal))!;
        Assert.That(line, Does.EndWith($"[default: {expected}]").IgnoreCase.Or.Contain($"[default: {expected}]"));
        Assert.That(line, Does.Not.Contain("00:"));
    }

    [Test]
    public async Task Help_Root_DocumentsTheExitCodes()
    {
        var (code, output, _) = await CliRunner.RunAsync(string.Empty, "--help");

        Assert.That(code, Is.EqualTo(ExitCodes.Success));
        Assert.That(output, Does.Contain("Exit codes: 0 success"));
    }

    [Test]
    public void PackageReadme_NamesEveryCommandAndExitCode()
    {
        string readme = System.IO.File.ReadAllText(System.IO.Path.Combine(Support.Repository.Root(), "src", "StemeDb.Sync.Cli", "README.md"));
        System.CommandLine.RootCommand root = StemeDbSyncCli.Build(new CliRunner().Console);
        int[] codes = [.. typeof(ExitCodes).GetFields().Select(f => (int)f.GetValue(null)!)];

        Assert.Multiple(() =>
        {
            foreach (System.CommandLine.Command command in root.Subcommands)
            {
                Assert.That(readme, Does.Contain($"`{command.Name}"), command.Name);
            }

            foreach (int code in codes)
            {
                Assert.That(readme, Does.Match($@"\b{code} [a-z]"), "exit code " + code);
            }
        });
    }

    [TestCase("bogus")]
    [TestCase("ping", "not-a-url")]
    [TestCase("ping", "ftp://127.0.0.1:1")]
    [TestCase("export", "not-a-url")]
    [TestCase("serve")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0", "--node-id", "xyz")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0", "--peer", "http://127.0.0.1:1", "--peer", "http://127.0.0.1:1/")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0", "--peer-dns", "nodes")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0", "--peer-dns", "_grpc._tcp..nodes.example")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0", "--peer-dns", "nodes.example:")]
    [TestCase("serve", "--listen", "http://127.0.0.1:0", "--peer-dns", "nodes.example:99999")]
    [TestCase("fetch", "http://127.0.0.1:1", "abcd")]
    [TestCase("demo", "--assertions", "0")]
    [TestCase("demo", "--timeout", "-3")]
    public async Task InvalidCommandLine_ExitsUsageWithAMessage(params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync(string.Empty, args);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.StartWith("error: "));
        Assert.That(error, Does.Contain("--help"));
        Assert.That(output, Is.Empty);
    }
}

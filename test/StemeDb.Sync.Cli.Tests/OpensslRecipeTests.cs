using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.Cli.Tests.Support;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// The OpenSSL recipe of docs/SECURITY.md ("Deploying with mutual TLS"), run as written (the shell block after the
/// <c>tested: OpensslRecipeTests</c> marker) in an empty directory: it makes a CA, two node certificates that are both
/// server and client certificates, and an operator's client certificate, and a node with mutual TLS takes them.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class OpensslRecipeTests
{
    private const string Marker = "<!-- tested: OpensslRecipeTests";

    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("stemedb-recipe-").FullName;

    [TearDown]
    public void TearDown()
    {
        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public void Recipe_IsFoundInTheDocs()
    {
        string recipe = Recipe();

        Assert.That(recipe, Does.Contain("openssl req -x509").And.Contain("extendedKeyUsage = serverAuth, clientAuth"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Recipe_Run_MakesCertificatesWithTheirUsagesNamesAndChain(CancellationToken cancellationToken)
    {
        await RunRecipeAsync(cancellationToken);

        using X509Certificate2 ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_directory, "ca.pem"));
        using X509Certificate2 a = Load("a");
        using X509Certificate2 b = Load("b");
        using X509Certificate2 admin = Load("admin");
        Assert.Multiple(() =>
        {
            Assert.That(Usages(a), Is.EquivalentTo(new[] { TestPki.ServerAuth, TestPki.ClientAuth }), "a node serves and calls");
            Assert.That(Usages(b), Is.EquivalentTo(new[] { TestPki.ServerAuth, TestPki.ClientAuth }), "a node serves and calls");
            Assert.That(Usages(admin), Is.EquivalentTo(new[] { TestPki.ClientAuth }), "an operator only calls");
            Assert.That(Names(a), Is.EquivalentTo(new[] { "node-a", "10.0.0.1" }));
            Assert.That(Names(b), Is.EquivalentTo(new[] { "node-b", "10.0.0.2" }));
            Assert.That(Names(admin), Is.EquivalentTo(new[] { "admin" }));
            foreach (X509Certificate2 certificate in new[] { a, b, admin })
            {
                Assert.That(certificate.HasPrivateKey, Is.True, certificate.Subject);
                Assert.That(ChainsTo(certificate, ca), Is.True, certificate.Subject + " chains to ca.pem");
            }

            Assert.That(Directory.GetFiles(_directory).Select(Path.GetFileName), Is.EquivalentTo(new[]
            {
                "ca.pem", "ca.key", "ca.srl", "a.pem", "a.key", "b.pem", "b.key", "admin.pem", "admin.key",
            }), "the requests and extension files are removed");
            if (!OperatingSystem.IsWindows())
            {
                foreach (string key in new[] { "ca.key", "a.key", "b.key", "admin.key" })
                {
                    UnixFileMode mode = File.GetUnixFileMode(Path.Combine(_directory, key));
                    Assert.That(mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead), Is.EqualTo((UnixFileMode)0), key + " is its owner's only");
                }
            }
        });
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Recipe_Certificates_AreTakenAsClientCertificatesByServeWithMutualTls(CancellationToken cancellationToken)
    {
        await RunRecipeAsync(cancellationToken);

        // The recipe's node certificates name 10.0.0.x, so this node serves a loopback certificate of its own CA, and
        // takes callers with a certificate of the recipe's CA: the operator's, and node A's (which A presents when it
        // calls its peers).
        using var pki = new TestPki();
        using var serverCa = new TestAuthority("loopback ca");
        string serverCaFile = pki.Write("server-ca.pem", serverCa.Certificate.ExportCertificatePem());
        (string serverCert, string serverKey) = pki.Issue(serverCa, "node-c");
        string recipeCa = Path.Combine(_directory, "ca.pem");
        using ServeProcess serve = ServeProcess.Start(
            "serve", "--listen", "https://127.0.0.1:0", "--tls-cert", serverCert, "--tls-key", serverKey, "--client-ca", recipeCa, "--allow-peer", "admin", "--allow-peer", "node-a");
        string address = (await serve.WaitForAddressAsync(cancellationToken)).ToString();

        (int admin, _, string adminError) = await PingAsAsync(address, serverCaFile, "admin");
        (int nodeA, _, string nodeAError) = await PingAsAsync(address, serverCaFile, "a");
        (int nodeB, _, _) = await PingAsAsync(address, serverCaFile, "b");

        Assert.Multiple(() =>
        {
            Assert.That(admin, Is.EqualTo(ExitCodes.Success), adminError);
            Assert.That(nodeA, Is.EqualTo(ExitCodes.Success), nodeAError);
            Assert.That(nodeB, Is.EqualTo(ExitCodes.Unavailable), "node-b is not allowed here: the check is real");
        });
        serve.Signal(15);
        Assert.That(await serve.WaitForExitAsync(cancellationToken), Is.EqualTo(ExitCodes.Success), serve.Stderr);
    }

    private Task<(int Code, string Out, string Error)> PingAsAsync(string address, string caFile, string name) =>
        CliRunner.RunAsync(string.Empty, "ping", address, "--peer-ca", caFile,
            "--tls-cert", Path.Combine(_directory, name + ".pem"), "--tls-key", Path.Combine(_directory, name + ".key"));

    /// <summary>Runs the recipe with bash in the test's empty directory; fails the test if a command fails.</summary>
    private async Task RunRecipeAsync(CancellationToken cancellationToken)
    {
        if (FindOnPath("openssl") is null || FindOnPath("bash") is null)
        {
            Assert.Ignore("openssl or bash is not on PATH: the recipe of docs/SECURITY.md needs both (CI has them).");
        }

        string script = Path.Combine(Path.GetTempPath(), $"stemedb-recipe-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, Recipe(), cancellationToken);
        try
        {
            var start = new ProcessStartInfo("bash") { WorkingDirectory = _directory, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in new[] { "-e", "-u", "-o", "pipefail", script })
            {
                start.ArgumentList.Add(argument);
            }

            using Process bash = Process.Start(start)!;
            Task<string> output = bash.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> error = bash.StandardError.ReadToEndAsync(cancellationToken);
            await bash.WaitForExitAsync(cancellationToken);
            Assert.That(bash.ExitCode, Is.Zero, $"the recipe failed:\n{await output}\n{await error}");
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>The shell block after the marker in docs/SECURITY.md.</summary>
    private static string Recipe()
    {
        string[] lines = File.ReadAllLines(Path.Combine(Support.Repository.Root(), "docs", "SECURITY.md"));
        int marker = Array.FindIndex(lines, l => l.StartsWith(Marker, StringComparison.Ordinal));
        Assert.That(marker, Is.GreaterThanOrEqualTo(0), "docs/SECURITY.md has the recipe's marker");
        int open = Array.FindIndex(lines, marker, l => l.TrimEnd() == "```sh");
        int close = Array.FindIndex(lines, open + 1, l => l.TrimEnd() == "```");
        Assert.That(open, Is.EqualTo(marker + 1), "the shell block follows the marker");
        Assert.That(close, Is.GreaterThan(open));
        return string.Join('\n', lines[(open + 1)..close]) + "\n";
    }

    private X509Certificate2 Load(string name) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(_directory, name + ".pem"), Path.Combine(_directory, name + ".key"));

    private static string[] Usages(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SelectMany(e => e.EnhancedKeyUsages.Cast<Oid>()).Select(o => o.Value!).ToArray();

    private static string[] Names(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (X509SubjectAlternativeNameExtension san in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            names.AddRange(san.EnumerateDnsNames());
            names.AddRange(san.EnumerateIPAddresses().Select(ip => ip.ToString()));
        }

        return names.ToArray();
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        return chain.Build(certificate);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}

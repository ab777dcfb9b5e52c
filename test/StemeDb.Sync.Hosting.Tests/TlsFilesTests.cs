using System.Net;
using System.Security.Cryptography.X509Certificates;
using StemeDb.Sync.Hosting;
using StemeDb.Sync.Hosting.Internal;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>
/// The certificate rules of a node's TLS, on certificates made in the test: chains from the configured CA and what the
/// peer sent alone, with nothing fetched; clientAuth required of callers, serverAuth of peers that list usages; allowed
/// names from the SANs when there are any.
/// </summary>
[TestFixture]
public sealed class TlsFilesTests
{
    private TestAuthority _ca = null!;
    private TestAuthority _otherCa = null!;
    private X509Certificate2Collection _roots = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _ca = new TestAuthority("stemedb test ca");
        _otherCa = new TestAuthority("another ca");
        _roots = [X509CertificateLoader.LoadCertificate(_ca.Certificate.RawData)];
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }

    [Test]
    public void ChainPolicy_AnyRoots_DownloadsNothingAndChecksNoRevocation()
    {
        X509ChainPolicy custom = TlsFiles.ChainPolicy(_roots, TlsFiles.ClientAuthentication);
        X509ChainPolicy system = TlsFiles.ChainPolicy(null, TlsFiles.ServerAuthentication);

        Assert.Multiple(() =>
        {
            Assert.That(custom.DisableCertificateDownloads, Is.True);
            Assert.That(custom.RevocationMode, Is.EqualTo(X509RevocationMode.NoCheck));
            Assert.That(custom.TrustMode, Is.EqualTo(X509ChainTrustMode.CustomRootTrust));
            Assert.That(custom.CustomTrustStore, Is.EquivalentTo(_roots));
            Assert.That(system.DisableCertificateDownloads, Is.True, "no downloads with the system's trust either");
            Assert.That(system.RevocationMode, Is.EqualTo(X509RevocationMode.NoCheck));
        });
    }

    [Test]
    public void IsAllowedClient_CertificateOfTheCaWithClientAuthNamingAnAllowedPeer_IsAllowed()
    {
        using X509Certificate2 client = TestPki.Create(_ca, "node-b");

        Assert.That(TlsFiles.IsAllowedClient(client, null, _roots, ["node-b"]), Is.True);
    }

    [Test]
    public void IsAllowedClient_NoExtendedKeyUsageExtension_IsRefused()
    {
        using X509Certificate2 client = TestPki.Create(_ca, "node-b", noUsages: true);

        Assert.That(TlsFiles.IsAllowedClient(client, null, _roots, ["node-b"]), Is.False);
    }

    [Test]
    public void IsAllowedClient_ServerAuthOnly_IsRefused()
    {
        using X509Certificate2 client = TestPki.Create(_ca, "node-b", usages: [TestPki.ServerAuth]);

        Assert.That(TlsFiles.IsAllowedClient(client, null, _roots, ["node-b"]), Is.False);
    }

    [Test]
    public void IsAllowedClient_AnotherCaWithAnIssuerUrl_IsRefused()
    {
        using X509Certificate2 client = TestPki.Create(_otherCa, "node-b", caIssuersUrl: "http://127.0.0.1:9/issuer.crt");

        Assert.That(TlsFiles.IsAllowedClient(client, null, _roots, ["node-b"]), Is.False);
    }

    [Test]
    public void IsAllowedClient_ThroughAnIntermediate_IsAllowedOnlyWhenThePeerSentIt()
    {
        using var intermediate = new TestAuthority("intermediate", _ca);
        using X509Certificate2 client = TestPki.Create(intermediate, "node-b");
        X509Certificate2Collection sent = [X509CertificateLoader.LoadCertificate(intermediate.Certificate.RawData)];

        Assert.Multiple(() =>
        {
            Assert.That(TlsFiles.IsAllowedClient(client, sent, _roots, ["node-b"]), Is.True, "with the intermediate sent");
            Assert.That(TlsFiles.IsAllowedClient(client, null, _roots, ["node-b"]), Is.False, "not looked for elsewhere");
        });
    }

    [Test]
    public void IsAcceptedServer_ExtendedKeyUsages_ServerAuthRequiredWhenListed()
    {
        using X509Certificate2 both = TestPki.Create(_ca, "node-a");
        using X509Certificate2 none = TestPki.Create(_ca, "node-a", noUsages: true);
        using X509Certificate2 clientOnly = TestPki.Create(_ca, "node-a", usages: [TestPki.ClientAuth]);
        using X509Certificate2 stranger = TestPki.Create(_otherCa, "node-a");

        Assert.Multiple(() =>
        {
            Assert.That(TlsFiles.IsAcceptedServer(both, null, _roots), Is.True, "serverAuth listed");
            Assert.That(TlsFiles.IsAcceptedServer(none, null, _roots), Is.True, "no extension: any usage");
            Assert.That(TlsFiles.IsAcceptedServer(clientOnly, null, _roots), Is.False, "usages listed without serverAuth");
            Assert.That(TlsFiles.IsAcceptedServer(stranger, null, _roots), Is.False, "another CA");
        });
    }

    [Test]
    public void IsAllowed_CertificateWithSans_MatchesTheSansOnlyNotTheCommonName()
    {
        using X509Certificate2 certificate = TestPki.Create(_ca, "admin", sanDnsNames: ["node-b.internal"]);

        Assert.Multiple(() =>
        {
            Assert.That(TlsFiles.IsAllowed(certificate, ["admin"]), Is.False, "the CN does not count next to SANs");
            Assert.That(TlsFiles.IsAllowed(certificate, ["NODE-B.internal"]), Is.True, "a DNS SAN, case-insensitively");
            Assert.That(TlsFiles.IsAllowed(certificate, []), Is.True, "any name when none is listed");
        });
    }

    [Test]
    public void IsAllowed_CertificateWithoutSans_MatchesTheCommonName()
    {
        using X509Certificate2 certificate = TestPki.Create(_ca, "admin", sanDnsNames: []);

        Assert.Multiple(() =>
        {
            Assert.That(TlsFiles.IsAllowed(certificate, ["admin"]), Is.True);
            Assert.That(TlsFiles.IsAllowed(certificate, ["node-b"]), Is.False);
        });
    }

    [Test]
    public void IsAllowed_IpAddressSan_MatchesAnAllowedAddress()
    {
        using X509Certificate2 certificate = TestPki.Create(_ca, "node-b");

        Assert.Multiple(() =>
        {
            Assert.That(TlsFiles.IsAllowed(certificate, [IPAddress.Loopback.ToString()]), Is.True);
            Assert.That(TlsFiles.IsAllowed(certificate, ["10.0.0.9"]), Is.False);
        });
    }

    [TestCase("http://0.0.0.0:5000", true)]
    [TestCase("https://[::]:5000", true)]
    [TestCase("http://10.1.2.3:5000", true)]
    [TestCase("http://*:5000", true)]
    [TestCase("http://127.0.0.1:5000", false)]
    [TestCase("http://[::1]:5000", false)]
    [TestCase("http://localhost:5000", false)]
    [TestCase("http://unix:/run/stemedb.sock", false)]
    public void ServedEndpoints_ServerAddress_BeyondLoopbackUnlessAuthenticated(string address, bool refused)
    {
        var served = new ServedEndpoints();
        served.AddMapping(() => [address], []);

        string? problem = served.Check(new StemeDbSyncOptions(), authorizerRegistered: false);
        string? withAuthorizer = served.Check(new StemeDbSyncOptions(), authorizerRegistered: true);

        Assert.Multiple(() =>
        {
            Assert.That(problem is not null, Is.EqualTo(refused), problem);
            Assert.That(withAuthorizer, Is.Null);
        });
    }

    [Test]
    public void ServedEndpoints_BeyondLoopbackOnAPortTheSyncServiceIsNotMappedOn_IsNotRefused()
    {
        var served = new ServedEndpoints();
        served.AddMapping(() => ["http://127.0.0.1:5000", "http://0.0.0.0:9090"], [5000]);

        Assert.That(served.Check(new StemeDbSyncOptions(), authorizerRegistered: false), Is.Null);
    }

    [Test]
    public void ServedEndpoints_MutualTlsEndpoint_AuthenticatesOnlyItsOwnAddress()
    {
        var served = new ServedEndpoints();
        served.AddTls(() => new IPEndPoint(IPAddress.Any, 5000), authenticatesCallers: true);
        served.AddMapping(() => ["https://0.0.0.0:5000", "http://0.0.0.0:5001"], []);
        var options = new StemeDbSyncOptions();

        string? problem = served.Check(options, authorizerRegistered: false);

        Assert.That(problem, Does.Contain("http://0.0.0.0:5001").And.Not.Contain("https://0.0.0.0:5000"));
    }
}

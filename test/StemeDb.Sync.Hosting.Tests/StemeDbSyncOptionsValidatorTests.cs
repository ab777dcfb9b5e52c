using System;
using Microsoft.Extensions.Options;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting.Tests;

[TestFixture]
public sealed class StemeDbSyncOptionsValidatorTests
{
    private readonly StemeDbSyncOptionsValidator _validator = new();

    [Test]
    public void Validate_Defaults_Succeeds()
    {
        ValidateOptionsResult result = _validator.Validate(null, new StemeDbSyncOptions());

        Assert.That(result.Succeeded, Is.True);
    }

    [Test]
    public void Validate_GoodPeers_Succeeds()
    {
        var options = new StemeDbSyncOptions();
        options.Peers.Add("http://127.0.0.1:5000");
        options.Peers.Add("https://node-2.example:443");

        Assert.That(_validator.Validate(null, options).Succeeded, Is.True);
    }

    [TestCase("")]
    [TestCase("127.0.0.1:5000")]
    [TestCase("tcp://127.0.0.1:5000")]
    [TestCase("http://127.0.0.1:5000/?x=1")]
    [TestCase("/relative")]
    public void Validate_BadPeer_FailsNamingItsIndex(string peer)
    {
        var options = new StemeDbSyncOptions();
        options.Peers.Add("http://127.0.0.1:1");
        options.Peers.Add(peer);

        ValidateOptionsResult result = _validator.Validate(null, options);

        Assert.That(result.Failed, Is.True);
        Assert.That(result.FailureMessage, Does.Contain("StemeDbSync:Peers[1]"));
        Assert.That(result.FailureMessage, Does.Not.Contain("Peers[0]"));
    }

    [Test]
    public void Validate_TokenFileShorterThan16Bytes_FailsNamingTheSetting()
    {
        string path = System.IO.Path.GetTempFileName();
        try
        {
            System.IO.File.WriteAllText(path, "  fifteen-bytes!!\n");
            var options = new StemeDbSyncOptions { TokenFile = path };

            ValidateOptionsResult result = _validator.Validate(null, options);

            Assert.That(result.Failures, Has.One.StartsWith("StemeDbSync:TokenFile: ").And.Contains("15 bytes").And.Contains("at least 16 bytes"));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [TestCase(0)]
    [TestCase(4097)]
    public void Validate_PeerDnsMaxPeersOutOfRange_FailsNamingTheSetting(int max)
    {
        var options = new StemeDbSyncOptions { PeerDnsMaxPeers = max };

        ValidateOptionsResult result = _validator.Validate(null, options);

        Assert.That(result.Failures, Has.One.StartsWith("StemeDbSync:PeerDnsMaxPeers: must be from 1 to 4096"));
    }

    [Test]
    public void Validate_PeerDnsMaxPeersDefault_Is64AndValid()
    {
        var options = new StemeDbSyncOptions();

        Assert.That(options.PeerDnsMaxPeers, Is.EqualTo(64));
        Assert.That(_validator.Validate(null, options).Succeeded, Is.True);
    }

    [Test]
    public void Validate_CredentialFilesInconsistentOrUnreadable_FailsNamingEachSetting()
    {
        string missing = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "stemedb-missing-" + Guid.NewGuid().ToString("N"));
        string empty = System.IO.Path.GetTempFileName();
        try
        {
            var options = new StemeDbSyncOptions { TokenFile = empty };
            options.Tls.CertificateFile = missing + ".pem";
            options.Tls.PeerCaFile = missing + ".ca";
            options.Tls.AllowedPeers.Add("node-b");

            ValidateOptionsResult result = _validator.Validate(null, options);

            Assert.That(result.Failed, Is.True);
            Assert.That(result.Failures, Has.Some.StartsWith("StemeDbSync:TokenFile: ").And.Some.Contains("is empty"));
            Assert.That(result.Failures, Has.Some.Contains("StemeDbSync:Tls:CertificateFile and KeyFile go together"));
            Assert.That(result.Failures, Has.Some.StartsWith("StemeDbSync:Tls:PeerCaFile: "));
            Assert.That(result.Failures, Has.Some.StartsWith("StemeDbSync:Tls:AllowedPeers needs ClientCaFile"));
        }
        finally
        {
            System.IO.File.Delete(empty);
        }
    }
}

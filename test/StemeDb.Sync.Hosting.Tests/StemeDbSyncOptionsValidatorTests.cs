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
}

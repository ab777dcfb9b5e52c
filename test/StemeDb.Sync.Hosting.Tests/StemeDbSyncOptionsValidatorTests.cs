using System;
using System.Threading;
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
    public void Validate_GoodSettings_Succeeds()
    {
        var options = new StemeDbSyncOptions
        {
            NodeId = "0f8fad5b-d9cb-469f-a165-70867728950e",
            AntiEntropyInterval = Timeout.InfiniteTimeSpan,
            GossipFanout = 0,
        };
        options.Peers.Add("http://127.0.0.1:5000");
        options.Peers.Add("https://node-2.example:443");

        Assert.That(_validator.Validate(null, options).Succeeded, Is.True);
    }

    [TestCase("zz", "neither 32 hex digits")]
    [TestCase("00000000000000000000000000000000", "all-zero id is reserved")]
    public void Validate_BadNodeId_FailsNamingIt(string nodeId, string message)
    {
        ValidateOptionsResult result = _validator.Validate(null, new StemeDbSyncOptions { NodeId = nodeId });

        Assert.That(result.Failed, Is.True);
        Assert.That(result.FailureMessage, Does.Contain("StemeDbSync:NodeId").And.Contain(message));
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

    [TestCase(0)]
    [TestCase(99)]
    public void Validate_AntiEntropyIntervalTooShort_Fails(int milliseconds)
    {
        var options = new StemeDbSyncOptions { AntiEntropyInterval = TimeSpan.FromMilliseconds(milliseconds) };

        Assert.That(_validator.Validate(null, options).FailureMessage, Does.Contain("StemeDbSync:AntiEntropyInterval"));
    }

    [TestCase(-1)]
    [TestCase(65)]
    public void Validate_FanoutOutOfRange_Fails(int fanout)
    {
        Assert.That(_validator.Validate(null, new StemeDbSyncOptions { GossipFanout = fanout }).FailureMessage, Does.Contain("StemeDbSync:GossipFanout"));
    }

    [TestCase(50)]
    [TestCase(700_000)]
    public void Validate_PeerCallTimeoutOutOfRange_Fails(int milliseconds)
    {
        var options = new StemeDbSyncOptions { PeerCallTimeout = TimeSpan.FromMilliseconds(milliseconds) };

        Assert.That(_validator.Validate(null, options).FailureMessage, Does.Contain("StemeDbSync:PeerCallTimeout"));
    }
}

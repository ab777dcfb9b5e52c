using System;
using Microsoft.Extensions.Options;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting.Tests;

[TestFixture]
public sealed class SyncNodeOptionsValidatorTests
{
    private readonly SyncNodeOptionsValidator _validator = new();

    [Test]
    public void Validate_CoreDefaults_Succeeds()
    {
        Assert.That(_validator.Validate(null, new SyncNodeOptions()).Succeeded, Is.True);
    }

    [TestCase(nameof(SyncNodeOptions.GossipFanout))]
    [TestCase(nameof(SyncNodeOptions.PeerCallTimeout))]
    [TestCase(nameof(SyncNodeOptions.AntiEntropyInterval))]
    [TestCase(nameof(SyncNodeOptions.AntiEntropyJitter))]
    [TestCase(nameof(SyncNodeOptions.NodeId))]
    public void Validate_SettingOutOfTheCoreBounds_FailsNamingIt(string setting)
    {
        var options = new SyncNodeOptions();
        switch (setting)
        {
            case nameof(SyncNodeOptions.GossipFanout): options.GossipFanout = -1; break;
            case nameof(SyncNodeOptions.PeerCallTimeout): options.PeerCallTimeout = TimeSpan.Zero; break;
            case nameof(SyncNodeOptions.AntiEntropyInterval): options.AntiEntropyInterval = TimeSpan.FromSeconds(-1); break;
            case nameof(SyncNodeOptions.AntiEntropyJitter): options.AntiEntropyJitter = options.AntiEntropyInterval * 2; break;
            default: options.NodeId = NodeId.Empty; break;
        }

        ValidateOptionsResult result = _validator.Validate(null, options);

        Assert.That(result.Failed, Is.True);
        Assert.That(result.FailureMessage, Does.StartWith($"StemeDbSync:{setting}: SyncNodeOptions.{setting} "));
        Assert.That(result.FailureMessage, Does.Not.Contain("(Parameter"));
    }

    [Test]
    public void Validate_FanoutAboveTheOldHostingCap_SucceedsUpToTheCoreBound()
    {
        Assert.That(_validator.Validate(null, new SyncNodeOptions { GossipFanout = 65 }).Succeeded, Is.True);
        Assert.That(_validator.Validate(null, new SyncNodeOptions { GossipFanout = 1000 }).Succeeded, Is.True);
        Assert.That(_validator.Validate(null, new SyncNodeOptions { GossipFanout = 1001 }).Failed, Is.True);
    }
}

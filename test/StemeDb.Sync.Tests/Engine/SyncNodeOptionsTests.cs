using System;
using System.Threading;
using StemeDb.Sync.Engine.Internal;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>The one definition of the engine's defaults and bounds: <see cref="SyncNodeOptions"/>.</summary>
[TestFixture]
public class SyncNodeOptionsTests
{
    [Test]
    public void Validate_Defaults_DoesNotThrow()
    {
        Assert.That(() => new SyncNodeOptions().Validate(), Throws.Nothing);
    }

    [TestCase(nameof(SyncNodeOptions.GossipFanout))]
    [TestCase(nameof(SyncNodeOptions.PeerCallTimeout))]
    [TestCase(nameof(SyncNodeOptions.AntiEntropyJitter))]
    public void Validate_OutOfRange_ThrowsWithTheSettingAsParamNameAndInTheMessage(string setting)
    {
        var options = new SyncNodeOptions();
        switch (setting)
        {
            case nameof(SyncNodeOptions.GossipFanout): options.GossipFanout = 1001; break;
            case nameof(SyncNodeOptions.PeerCallTimeout): options.PeerCallTimeout = TimeSpan.FromSeconds(-1); break;
            default: options.AntiEntropyJitter = TimeSpan.FromSeconds(-1); break;
        }

        var ex = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => options.Validate()) as ArgumentException;

        Assert.That(ex!.ParamName, Is.EqualTo(setting));
        Assert.That(ex.Message, Does.StartWith($"SyncNodeOptions.{setting} "));
    }

    [Test]
    public void GossipFanout_Bound_IsOneThousand()
    {
        Assert.That(() => new SyncNodeOptions { GossipFanout = 1000 }.Validate(), Throws.Nothing);
        Assert.That(() => new SyncNodeOptions { GossipFanout = 1001 }.Validate(), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void AntiEntropyJitter_Default_IsUnset()
    {
        Assert.That(new SyncNodeOptions().AntiEntropyJitter, Is.Null);
    }

    [TestCase(30_000, 5_000)]
    [TestCase(60_000, 10_000)]
    [TestCase(600, 100)]
    [TestCase(1, 0.1666)]
    public void AntiEntropyJitter_Unset_IsOneSixthOfTheInterval(double intervalMs, double expectedMs)
    {
        var options = new SyncNodeOptions { AntiEntropyInterval = TimeSpan.FromMilliseconds(intervalMs) };

        SyncNodeOptions copy = options.ValidatedCopy();

        Assert.That(copy.AntiEntropyJitter!.Value.TotalMilliseconds, Is.EqualTo(expectedMs).Within(0.001));
        Assert.That(options.AntiEntropyJitter, Is.Null, "the caller's options are not changed");
    }

    [Test]
    public void AntiEntropyJitter_UnsetWithPeriodicAntiEntropyOff_IsZero()
    {
        var options = new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan };

        Assert.That(options.ValidatedCopy().AntiEntropyJitter, Is.EqualTo(TimeSpan.Zero));
    }

    [TestCase(0)]
    [TestCase(7_000)]
    public void AntiEntropyJitter_Set_IsKept(int jitterMs)
    {
        var options = new SyncNodeOptions { AntiEntropyInterval = TimeSpan.FromSeconds(10), AntiEntropyJitter = TimeSpan.FromMilliseconds(jitterMs) };

        Assert.That(options.ValidatedCopy().AntiEntropyJitter, Is.EqualTo(TimeSpan.FromMilliseconds(jitterMs)));
    }

    [Test]
    public void NextAntiEntropyDelay_JitterUnset_WithinIntervalPlusOrMinusASixth()
    {
        var options = new SyncNodeOptions { AntiEntropyInterval = TimeSpan.FromSeconds(60), RandomSeed = 1 };
        var retry = new NodeRandomness(options.ValidatedCopy());

        for (int i = 0; i < 200; i++)
        {
            Assert.That(retry.NextAntiEntropyDelay(), Is.InRange(TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(70)));
        }
    }

    [Test]
    public void NextAntiEntropyDelay_ZeroJitter_IsExactlyTheInterval()
    {
        var options = new SyncNodeOptions { AntiEntropyInterval = TimeSpan.FromSeconds(60), AntiEntropyJitter = TimeSpan.Zero };
        var retry = new NodeRandomness(options.ValidatedCopy());

        Assert.That(retry.NextAntiEntropyDelay(), Is.EqualTo(TimeSpan.FromSeconds(60)));
    }

    [Test]
    public void Defaults_AreTheDocumentedOnes()
    {
        var options = new SyncNodeOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.PeerCallTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.AntiEntropyInterval, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.GossipFanout, Is.EqualTo(3));
            Assert.That(options.ValidatedCopy().AntiEntropyJitter, Is.EqualTo(TimeSpan.FromSeconds(5)));
        });
    }
}

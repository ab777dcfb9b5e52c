using System;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>The retry policy (<c>NodeRandomness</c>).</summary>
[TestFixture]
public sealed class NodeRandomnessTests : NodeTestBase
{
    [Test]
    public async Task RetryDelay_Attempts_GrowsExponentiallyWithinJitterAndCap()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o =>
        {
            o.GossipRetryBaseDelay = TimeSpan.FromMilliseconds(100);
            o.GossipRetryMaxDelay = TimeSpan.FromMilliseconds(1000);
        }));

        for (int trial = 0; trial < 50; trial++)
        {
            Assert.That(node.RetryDelay(1).TotalMilliseconds, Is.InRange(50, 100));
            Assert.That(node.RetryDelay(2).TotalMilliseconds, Is.InRange(100, 200));
            Assert.That(node.RetryDelay(3).TotalMilliseconds, Is.InRange(200, 400));
            Assert.That(node.RetryDelay(10).TotalMilliseconds, Is.InRange(500, 1000));
        }
    }
}

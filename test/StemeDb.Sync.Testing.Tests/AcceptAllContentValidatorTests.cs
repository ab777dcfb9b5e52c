using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Testing.Tests;

[TestFixture]
[CancelAfter(20_000)]
public sealed class AcceptAllContentValidatorTests
{
    [TestCase(new byte[0])]
    [TestCase(new byte[] { 0xFF, 0xFF, 0xFF })]
    [TestCase(new byte[] { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 })]
    public void TryValidate_AnyBytes_AcceptsWithoutAnError(byte[] data)
    {
        bool valid = AcceptAllContentValidator.Instance.TryValidate(data, out string? error);

        Assert.That(valid, Is.True);
        Assert.That(error, Is.Null);
    }

    [Test]
    public async Task SyncNode_WithTheValidator_StoresAndReplicatesBytesTheDefaultValidatorRejects(CancellationToken cancellationToken)
    {
        byte[][] payloads = [.. Enumerable.Range(0, 10).Select(TestRecords.Data)];
        await using SyncNode strict = await StartAsync(1, validator: null, cancellationToken);
        await using SyncNode a = await StartAsync(2, AcceptAllContentValidator.Instance, cancellationToken);
        await using SyncNode b = await StartAsync(3, AcceptAllContentValidator.Instance, cancellationToken);
        var network = new InMemoryNetwork();
        network.SetEndpoint("a", a.Handler);

        Assert.ThrowsAsync<AssertionRejectedException>(async () => await strict.IngestAsync(payloads[0], cancellationToken));
        foreach (byte[] payload in payloads)
        {
            Assert.That((await a.IngestAsync(payload, cancellationToken)).Added, Is.True);
        }

        SyncPassResult pass = await b.SyncWithPeerAsync(network.CreatePeer("b", "a"), cancellationToken);

        Assert.That(pass.Complete, Is.True);
        Assert.That(b.Count, Is.EqualTo(payloads.Length));
        Assert.That(b.Root, Is.EqualTo(a.Root));
        Assert.That(strict.Count, Is.Zero);
    }

    private static async Task<SyncNode> StartAsync(int id, IAssertionContentValidator? validator, CancellationToken cancellationToken)
    {
        var options = new SyncNodeOptions
        {
            NodeId = TestRecords.NodeIdFor(id),
            ContentValidator = validator,
            AntiEntropyInterval = Timeout.InfiniteTimeSpan,
        };
        var node = new SyncNode(options, new InMemoryAssertionStore());
        await node.StartAsync(cancellationToken);
        return node;
    }
}

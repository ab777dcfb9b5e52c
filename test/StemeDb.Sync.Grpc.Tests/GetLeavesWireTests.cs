using System;
using System.Linq;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>GetLeaves paging limits over Kestrel, against a node with exactly 10,000 leaves and one with 10,001.</summary>
[TestFixture]
public class GetLeavesWireTests
{
    private SyncNode _node = null!;
    private SyncNode _overNode = null!;
    private KestrelHost _host = null!;
    private KestrelHost _overHost = null!;
    private AssertionHash[] _overSorted = null!;
    private GrpcChannel _channel = null!;
    private SyncService.SyncServiceClient _client = null!;
    private AssertionHash[] _sorted = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _node = await TestNodes.StartAsync();
        _overNode = await TestNodes.StartAsync();
        AssertionRecord[] records = Enumerable.Range(0, 10_000).Select(i => Records.Create($"leaf-{i}")).ToArray();
        foreach (AssertionRecord record in records)
        {
            await _node.IngestAsync(record.Data);
            await _overNode.IngestAsync(record.Data);
        }

        _sorted = records.Select(r => r.Hash).Order().ToArray();
        _host = await KestrelHost.StartAsync(_node.Handler);

        AssertionRecord extra = Records.Create("leaf-extra");
        await _overNode.IngestAsync(extra.Data);

        _overSorted = _sorted.Append(extra.Hash).Order().ToArray();
        _overHost = await KestrelHost.StartAsync(_overNode.Handler);
        _channel = _host.CreateChannel();
        _client = new SyncService.SyncServiceClient(_channel);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        await _overHost.DisposeAsync();
        await _node.DisposeAsync();
        await _overNode.DisposeAsync();
    }

    [TestCase(0u)]
    [TestCase(10_000u)]
    [TestCase(10_001u)]
    [TestCase(uint.MaxValue)]
    public async Task GetLeaves_ExactlyCapLeaves_AllReturnedNotTruncated(uint maxLeaves)
    {
        GetLeavesResponse response = await _client.GetLeavesAsync(new GetLeavesRequest { MaxLeaves = maxLeaves });

        Assert.That(response.Leaves.Select(l => new AssertionHash(l.Span)), Is.EqualTo(_sorted));
        Assert.That(response.Truncated, Is.False);
    }

    [TestCase(1u)]
    [TestCase(9_999u)]
    public async Task GetLeaves_BelowCount_FirstLeavesTruncated(uint maxLeaves)
    {
        GetLeavesResponse response = await _client.GetLeavesAsync(new GetLeavesRequest { MaxLeaves = maxLeaves });

        Assert.That(response.Leaves.Select(l => new AssertionHash(l.Span)), Is.EqualTo(_sorted.Take((int)maxLeaves)));
        Assert.That(response.Truncated, Is.True);
    }

    [TestCase(0u)]
    [TestCase(10_000u)]
    [TestCase(10_001u)]
    [TestCase(20_000u)]
    [TestCase(uint.MaxValue)]
    public async Task GetLeaves_OneMoreThanCap_CapReturnedTruncated(uint maxLeaves)
    {
        using GrpcSyncPeer peer = _overHost.CreatePeer();

        LeavesPage page = await peer.GetLeavesAsync(maxLeaves);

        Assert.That(page.Leaves, Is.EqualTo(_overSorted.Take(10_000)));
        Assert.That(page.Truncated, Is.True);
    }
}

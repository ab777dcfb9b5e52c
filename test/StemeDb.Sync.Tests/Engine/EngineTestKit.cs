using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>Shared helpers for engine tests.</summary>
internal static class EngineTestKit
{
    public static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    public static NodeId NodeIdFor(int i)
    {
        byte[] bytes = new byte[NodeId.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), i + 1);
        bytes[0] = 0xA0;
        return new NodeId(bytes);
    }

    /// <summary>Options for a test node: the given validator (accept-all by default), no periodic anti-entropy, seeded.</summary>
    public static SyncNodeOptions Options(int id, Action<SyncNodeOptions>? configure = null, IAssertionContentValidator? validator = null)
    {
        var options = new SyncNodeOptions
        {
            NodeId = NodeIdFor(id),
            ContentValidator = validator ?? AcceptAllContentValidator.Instance,
            RandomSeed = id,
            AntiEntropyInterval = Timeout.InfiniteTimeSpan,
            GossipRetryBaseDelay = TimeSpan.FromMilliseconds(10),
            GossipRetryMaxDelay = TimeSpan.FromMilliseconds(100),
            PeerCallTimeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Distinct, deterministic assertion bytes (16 to 80 bytes): the same in every process (not seeded by <see cref="HashCode"/>, which is randomized per process).</summary>
    public static byte[] Data(int seed, int salt = 0)
    {
        var random = new Random(unchecked((seed * 1_000_003) + salt));
        byte[] data = new byte[16 + random.Next(65)];
        random.NextBytes(data);
        data[0] = 0x5A;
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(1), seed);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(5), salt);
        return data;
    }

    public static AssertionRecord Record(int seed, HlcTimestamp? timestamp = null)
    {
        byte[] data = Data(seed, 77);
        return new AssertionRecord(AssertionHash.Compute(data), data, timestamp ?? new HlcTimestamp((ulong)Start.ToUnixTimeMilliseconds(), 0, NodeIdFor(99)));
    }

    public static AssertionHash RootOf(IEnumerable<AssertionHash> hashes)
    {
        var index = new MerkleIndex();
        foreach (AssertionHash hash in hashes)
        {
            index.Add(hash);
        }

        return index.Root;
    }

    /// <summary>Two started nodes over in-memory stores: <paramref name="shared"/> assertions on both, then some of each one's own.</summary>
    public static async Task<(SyncNode A, SyncNode B)> TwoNodesAsync(int shared, int onlyA, int onlyB, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        var a = new SyncNode(Options(1), new InMemoryAssertionStore(), timeProvider: time);
        var b = new SyncNode(Options(2), new InMemoryAssertionStore(), timeProvider: time);
        await a.StartAsync(cancellationToken);
        await b.StartAsync(cancellationToken);
        for (int i = 0; i < shared; i++)
        {
            byte[] data = Data(i);
            await a.IngestAsync(data, cancellationToken);
            await b.IngestAsync(data, cancellationToken);
        }

        for (int i = 0; i < onlyA; i++)
        {
            await a.IngestAsync(Data(1_000_000 + i), cancellationToken);
        }

        for (int i = 0; i < onlyB; i++)
        {
            await b.IngestAsync(Data(2_000_000 + i), cancellationToken);
        }

        return (a, b);
    }
}

/// <summary>Rejects data whose first byte is 0xFF, with a reason.</summary>
internal sealed class RejectFfValidator : IAssertionContentValidator
{
    public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
    {
        if (data.Length > 0 && data[0] == 0xFF)
        {
            error = "first byte 0xFF is not a valid archive";
            return false;
        }

        error = null;
        return true;
    }
}

/// <summary>Records the measurements of one instrument of the StemeDb.Sync meter.</summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _instrument;
    private long _total;

    public MetricRecorder(string instrument, string? tagName = null, object? tagValue = null)
    {
        _instrument = instrument;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "StemeDb.Sync" && instrument.Name == _instrument)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tagName is not null)
            {
                bool match = false;
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    match |= tag.Key == tagName && Equals(tag.Value, tagValue);
                }

                if (!match)
                {
                    return;
                }
            }

            Interlocked.Add(ref _total, value);
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}

/// <summary>
/// Fake time that reports each timer created with a finite due time, so that a test advances time exactly when a
/// background loop has started to wait (no real sleep to let it get there).
/// </summary>
internal sealed class TimerWatchingTimeProvider : FakeTimeProvider
{
    private readonly global::System.Threading.Channels.Channel<TimeSpan> _created = global::System.Threading.Channels.Channel.CreateUnbounded<TimeSpan>();

    public TimerWatchingTimeProvider(DateTimeOffset start)
        : base(start)
    {
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            _created.Writer.TryWrite(dueTime);
        }

        return timer;
    }

    /// <summary>Waits for the next timer whose due time matches, and returns that due time.</summary>
    public async Task<TimeSpan> NextTimerAsync(Func<TimeSpan, bool> match)
    {
        while (true)
        {
            TimeSpan due = await _created.Reader.ReadAsync();
            if (match(due))
            {
                return due;
            }
        }
    }
}

/// <summary>The nodes a test started, disposed together in its tear-down.</summary>
internal sealed class StartedNodes : IAsyncDisposable
{
    private readonly List<SyncNode> _nodes = new();

    /// <summary>Takes a node the test created (and may not start) for disposal.</summary>
    public SyncNode Add(SyncNode node)
    {
        _nodes.Add(node);
        return node;
    }

    /// <summary>Creates and starts a node over <paramref name="store"/> (a new in-memory store when null).</summary>
    public async Task<SyncNode> StartAsync(SyncNodeOptions options, IAssertionStore? store = null, TimeProvider? time = null)
    {
        var node = new SyncNode(options, store ?? new InMemoryAssertionStore(), timeProvider: time);
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (SyncNode node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
    }
}

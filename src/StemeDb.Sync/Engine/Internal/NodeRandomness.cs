using System;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// The node's random choices and waits: gossip retry backoff, anti-entropy intervals with jitter, the first pass's
/// delay, peer selection and reconciliation salts. A seeded node (deterministic simulation) draws all of them from
/// its seed, so that a run replays exactly.
/// </summary>
internal sealed class NodeRandomness
{
    /// <summary>The longest wait before the first anti-entropy pass with a peer.</summary>
    public static readonly TimeSpan FirstPassMaxDelay = TimeSpan.FromSeconds(2);

    private readonly SyncNodeOptions _options;
    private readonly Random _random;
    private readonly object _gate = new();

    public NodeRandomness(SyncNodeOptions options)
    {
        _options = options;
        _random = options.RandomSeed is int seed ? new Random(seed) : new Random();

        // Otherwise the reconciliation salts are cryptographically random.
        SeededSalt = options.RandomSeed is null ? null : NextSalt;
    }

    /// <summary>Salts for reconciliation drawn from the seed, or <see langword="null"/> for cryptographically random ones.</summary>
    public Func<ulong>? SeededSalt { get; }

    /// <summary>Whether a failed push is worth another attempt.</summary>
    public static bool IsRetryable(SyncStatusCode code) => code is
        SyncStatusCode.Unavailable or SyncStatusCode.DeadlineExceeded or SyncStatusCode.ResourceExhausted or SyncStatusCode.Internal;

    /// <summary>Exponential backoff with "equal jitter": half the delay fixed, half random.</summary>
    public TimeSpan RetryDelay(int attempt)
    {
        double baseMs = _options.GossipRetryBaseDelay.TotalMilliseconds;
        double capMs = _options.GossipRetryMaxDelay.TotalMilliseconds;
        double exponential = Math.Min(capMs, baseMs * Math.Pow(2, Math.Min(attempt - 1, 30)));
        return TimeSpan.FromMilliseconds((exponential / 2) + (NextDouble() * exponential / 2));
    }

    /// <summary>The wait before the next anti-entropy pass: the interval ± the jitter, uniformly.</summary>
    public TimeSpan NextAntiEntropyDelay()
    {
        double interval = _options.AntiEntropyInterval.TotalMilliseconds;
        double jitter = _options.EffectiveAntiEntropyJitter.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Max(0, interval + (((NextDouble() * 2) - 1) * jitter)));
    }

    /// <summary>
    /// The wait before the first pass with a peer (after start or when the peer is added): drawn uniformly up to
    /// <see cref="FirstPassMaxDelay"/> (or the interval, when shorter), so that a new node catches up within seconds
    /// and nodes started together do not call at once.
    /// </summary>
    public TimeSpan FirstAntiEntropyDelay()
    {
        double max = Math.Min(_options.AntiEntropyInterval.TotalMilliseconds, FirstPassMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(NextDouble() * max);
    }

    /// <summary>A random span between zero and <paramref name="max"/>.</summary>
    public TimeSpan Jitter(TimeSpan max) => TimeSpan.FromTicks((long)(NextDouble() * max.Ticks));

    /// <summary>Picks <paramref name="count"/> items at random (all of them when there are no more).</summary>
    public T[] Pick<T>(T[] items, int count)
    {
        if (items.Length <= count)
        {
            return items;
        }

        var shuffled = (T[])items.Clone();
        lock (_gate)
        {
            for (int i = 0; i < count; i++)
            {
                int j = _random.Next(i, shuffled.Length);
                (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
            }
        }

        return shuffled[..count];
    }

    private ulong NextSalt()
    {
        lock (_gate)
        {
            return (ulong)_random.NextInt64();
        }
    }

    private double NextDouble()
    {
        lock (_gate)
        {
            return _random.NextDouble();
        }
    }
}

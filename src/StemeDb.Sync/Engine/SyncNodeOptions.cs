using System;
using System.Threading;

namespace StemeDb.Sync;

/// <summary>
/// Settings of a <see cref="SyncNode"/>: the one place where the engine's defaults and bounds are defined. Works
/// without dependency injection; the node validates the settings (<see cref="Validate"/>) when it is constructed and
/// takes a snapshot, so later changes do not affect a running node. Every property but
/// <see cref="ContentValidator"/> binds from configuration (<c>Microsoft.Extensions.Configuration</c>): time spans
/// as <c>hh:mm:ss</c>, <see cref="NodeId"/> as 32 hex digits or a hyphenated UUID.
/// </summary>
public sealed class SyncNodeOptions
{
    /// <summary>The id of this node, carried by every HLC timestamp it issues. Defaults to a fresh random id; persist it across restarts.</summary>
    public NodeId NodeId { get; set; } = NodeId.NewId();

    /// <summary>How far ahead of local wall time a received timestamp may be (default 500 ms).</summary>
    public TimeSpan MaxClockDrift { get; set; } = HybridLogicalClock.DefaultMaxForwardDrift;

    /// <summary>
    /// Checks the content of every assertion before it is stored (local ingest, gossip and fetch). When
    /// <see langword="null"/>, the library default is used: <see cref="RkyvAssertionValidator"/>, which accepts
    /// valid rkyv archives of the StemeDB <c>Assertion</c> type. Hosts with their own record schema plug in their own.
    /// </summary>
    public IAssertionContentValidator? ContentValidator { get; set; }

    /// <summary>The largest assertion accepted, in bytes (default 1 MiB).</summary>
    public int MaxAssertionBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The most assertion bytes this node puts in one <c>FetchAssertions</c> answer, and reads from its store at once
    /// for a <c>StreamAssertions</c> page (default 3 MiB; 64 KiB to <see cref="SyncProtocol.MaxAnswerBytesLimit"/>, so that
    /// an answer stays within the 4 MiB message a gRPC peer accepts by default). Hashes asked for twice are answered
    /// once, and those past the budget are left out of the answer, as v1 allows; this library's client asks again for
    /// what was left out, and a v1 client asks again at its next pass. An assertion larger than the budget is answered
    /// alone.
    /// </summary>
    public int MaxAnswerBytes { get; set; } = SyncProtocol.DefaultMaxAnswerBytes;

    /// <summary>
    /// Live gossip's fanout (default 3; 0 disables gossip): how many peers without the <c>Broadcast</c> extension (v1
    /// nodes) each newly stored assertion is pushed to at random, and how many of its broadcast links a node starts
    /// with eager (docs/PROTOCOL.md, "Broadcast").
    /// </summary>
    public int GossipFanout { get; set; } = 3;

    /// <summary>
    /// How many assertions may wait to be gossiped (default 10,000). When the queue is full, new assertions
    /// are stored and acknowledged but not gossiped; anti-entropy delivers them later.
    /// </summary>
    public int GossipQueueCapacity { get; set; } = 10_000;

    /// <summary>How many queued assertions are gossiped at the same time, each to up to <see cref="GossipFanout"/> peers (default 4).</summary>
    public int GossipConcurrency { get; set; } = 4;

    /// <summary>How many times one gossip push to one peer is attempted before it is given up (default 4).</summary>
    public int GossipMaxAttempts { get; set; } = 4;

    /// <summary>Delay before the first retry of a failed gossip push; doubled per retry, with jitter (default 200 ms).</summary>
    public TimeSpan GossipRetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest delay between gossip retries (default 5 s).</summary>
    public TimeSpan GossipRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The mean interval between anti-entropy passes with each peer (default 30 s);
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables periodic anti-entropy.
    /// </summary>
    public TimeSpan AntiEntropyInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Each anti-entropy wait is drawn uniformly from interval ± jitter (at most the interval). Default
    /// <see langword="null"/>: one sixth of <see cref="AntiEntropyInterval"/> (5 s for the default 30 s), so the jitter
    /// follows the interval; set it to fix the spread (<see cref="TimeSpan.Zero"/> for none).
    /// </summary>
    public TimeSpan? AntiEntropyJitter { get; set; }

    /// <summary>How many hashes one fetch asks for (default and maximum 1,000).</summary>
    public int FetchBatchSize { get; set; } = SyncProtocol.MaxFetchHashes;

    /// <summary>How many leaves one GetLeaves request asks a peer for (default and maximum 10,000).</summary>
    public int MaxLeavesPerRequest { get; set; } = SyncProtocol.MaxLeavesPerPage;

    /// <summary>
    /// The deadline of each call to a peer (default 30 s), whatever the transport: the node cancels the token it
    /// passes to the peer when the deadline passes, and reports the call as
    /// <see cref="SyncStatusCode.DeadlineExceeded"/>. Transport adapters need no deadline of their own.
    /// </summary>
    public TimeSpan PeerCallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest one <c>StreamAssertions</c> pull from a peer may run (default 10 minutes); each wait for a chunk
    /// also has <see cref="PeerCallTimeout"/>. A pull cut short keeps what arrived, and the next pass resumes after it, so
    /// a peer that trickles its stream cannot hold the node's pull forever. A <c>ReconcileSymbols</c> exchange has an
    /// overall deadline of twice <see cref="PeerCallTimeout"/> and at most 64 messages.
    /// </summary>
    public TimeSpan MaxStreamPullDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Whether the node reconciles by rateless symbols (the <c>ReconcileSymbols</c> extension, docs/PROTOCOL.md), as the
    /// caller of an anti-entropy pass and as the server (default <see langword="true"/>). From its first such
    /// reconciliation on, the node's Merkle index keeps the symbols up to date: at most 12 bytes per assertion, and
    /// CPU on every ingest (docs/BENCHMARKS.md, "Ingest"). When <see langword="false"/>, the node keeps none, answers
    /// <c>ReconcileSymbols</c> as unimplemented, and reconciles with <c>Reconcile</c> and paged leaves.
    /// </summary>
    public bool ReconcileSymbols { get; set; } = true;

    /// <summary>Seeds the node's random choices (peer selection, jitter) for reproducible tests; <see langword="null"/> for a random seed.</summary>
    internal int? RandomSeed { get; set; }

    /// <summary>When <see langword="false"/>, no background loop runs: gossip waits until it is pumped (deterministic simulation).</summary>
    internal bool RunBackgroundLoops { get; set; } = true;

    /// <summary>The largest <see cref="GossipFanout"/> accepted.</summary>
    internal const int MaxGossipFanout = 1000;

    /// <summary>The default content validator: assertions are rkyv archives of the StemeDB <c>Assertion</c> type.</summary>
    internal static IAssertionContentValidator DefaultContentValidator => RkyvAssertionValidator.Instance;

    /// <summary>The jitter in effect: <see cref="AntiEntropyJitter"/>, or one sixth of the interval when it is not set.</summary>
    internal TimeSpan EffectiveAntiEntropyJitter => AntiEntropyJitter
        ?? (AntiEntropyInterval == Timeout.InfiniteTimeSpan || AntiEntropyInterval <= TimeSpan.Zero ? TimeSpan.Zero : AntiEntropyInterval / 6);

    /// <summary>
    /// Checks every setting against its bounds, as the node does when it is constructed. Hosts call it to fail early,
    /// e.g. when the settings come from configuration.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A setting is out of range; <see cref="ArgumentException.ParamName"/> is the name of the setting (the first one
    /// found) and the message names it too, e.g. <c>SyncNodeOptions.GossipFanout must be between 0 and 1000; got 2000.</c>
    /// </exception>
    public void Validate()
    {
        if (NodeId == NodeId.Empty)
        {
            throw new ArgumentException("SyncNodeOptions.NodeId must not be the empty (all-zero) id.", nameof(NodeId));
        }

        RequireNonNegative(MaxClockDrift, nameof(MaxClockDrift));
        RequireRange(MaxAssertionBytes, 1, int.MaxValue, nameof(MaxAssertionBytes));
        RequireRange(GossipFanout, 0, MaxGossipFanout, nameof(GossipFanout));
        RequireRange(GossipQueueCapacity, 1, 10_000_000, nameof(GossipQueueCapacity));
        RequireRange(GossipConcurrency, 1, 1024, nameof(GossipConcurrency));
        RequireRange(GossipMaxAttempts, 1, 100, nameof(GossipMaxAttempts));
        RequirePositive(GossipRetryBaseDelay, nameof(GossipRetryBaseDelay));
        RequirePositive(GossipRetryMaxDelay, nameof(GossipRetryMaxDelay));
        if (GossipRetryMaxDelay < GossipRetryBaseDelay)
        {
            throw new ArgumentException(
                $"SyncNodeOptions.GossipRetryMaxDelay ({GossipRetryMaxDelay}) must not be less than GossipRetryBaseDelay ({GossipRetryBaseDelay}).",
                nameof(GossipRetryMaxDelay));
        }

        if (AntiEntropyInterval != Timeout.InfiniteTimeSpan)
        {
            RequirePositive(AntiEntropyInterval, nameof(AntiEntropyInterval));
            if (AntiEntropyJitter is TimeSpan jitter)
            {
                RequireNonNegative(jitter, nameof(AntiEntropyJitter));
                if (jitter > AntiEntropyInterval)
                {
                    throw new ArgumentException(
                        $"SyncNodeOptions.AntiEntropyJitter ({jitter}) must not exceed AntiEntropyInterval ({AntiEntropyInterval}).",
                        nameof(AntiEntropyJitter));
                }
            }
        }

        RequireRange(FetchBatchSize, 1, SyncProtocol.MaxFetchHashes, nameof(FetchBatchSize));
        RequireRange(MaxLeavesPerRequest, 1, SyncProtocol.MaxLeavesPerPage, nameof(MaxLeavesPerRequest));
        RequireRange(MaxAnswerBytes, 64 * 1024, SyncProtocol.MaxAnswerBytesLimit, nameof(MaxAnswerBytes));
        RequirePositive(PeerCallTimeout, nameof(PeerCallTimeout));
        RequirePositive(MaxStreamPullDuration, nameof(MaxStreamPullDuration));
    }

    /// <summary>Returns a validated copy, with the defaults that depend on other settings resolved.</summary>
    internal SyncNodeOptions ValidatedCopy()
    {
        Validate();
        return new SyncNodeOptions
        {
            NodeId = NodeId,
            MaxClockDrift = MaxClockDrift,
            ContentValidator = ContentValidator ?? DefaultContentValidator,
            MaxAssertionBytes = MaxAssertionBytes,
            GossipFanout = GossipFanout,
            GossipQueueCapacity = GossipQueueCapacity,
            GossipConcurrency = GossipConcurrency,
            GossipMaxAttempts = GossipMaxAttempts,
            GossipRetryBaseDelay = GossipRetryBaseDelay,
            GossipRetryMaxDelay = GossipRetryMaxDelay,
            AntiEntropyInterval = AntiEntropyInterval,
            AntiEntropyJitter = EffectiveAntiEntropyJitter,
            FetchBatchSize = FetchBatchSize,
            MaxLeavesPerRequest = MaxLeavesPerRequest,
            MaxAnswerBytes = MaxAnswerBytes,
            PeerCallTimeout = PeerCallTimeout,
            MaxStreamPullDuration = MaxStreamPullDuration,
            ReconcileSymbols = ReconcileSymbols,
            RandomSeed = RandomSeed,
            RunBackgroundLoops = RunBackgroundLoops,
        };
    }

    private static void RequireRange(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, $"SyncNodeOptions.{name} must be between {min} and {max}; got {value}.");
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, $"SyncNodeOptions.{name} must be positive; got {value}.");
        }
    }

    private static void RequireNonNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, $"SyncNodeOptions.{name} must not be negative; got {value}.");
        }
    }
}

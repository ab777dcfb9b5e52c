using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing.Internal;

namespace StemeDb.Sync.Testing;

/// <summary>
/// An in-process network for tests: named endpoints serve an <see cref="ISyncRequestHandler"/>, and
/// <see cref="CreatePeer"/> gives an <see cref="ISyncPeer"/> from one endpoint to another. Every request and
/// answer is copied, as over a wire. Faults are injected from one seeded <see cref="Random"/>: lost requests,
/// lost answers, duplicated requests, delays (reordering), partitions and disconnected endpoints.
/// </summary>
/// <remarks>
/// <para>
/// In automatic mode (the default) a call is delivered after a random delay in
/// [<see cref="MinDelay"/>, <see cref="MaxDelay"/>] of the network's <see cref="TimeProvider"/>. With
/// <c>manualDelivery</c>, calls wait in a pending set until the test delivers them with
/// <see cref="DeliverNextAsync"/>, which picks a random pending call: a deterministic, seeded schedule with
/// delay and reordering.
/// </para>
/// <para>Failures surface as <see cref="SyncPeerException"/>, as a real transport's would; handler refusals
/// (<see cref="SyncRequestException"/>) keep their status code and message. Any other exception a handler throws is
/// logged to the endpoint's <see cref="SyncServer.Logger"/> and reaches the caller as
/// <see cref="SyncStatusCode.Internal"/> with a generic message, without the exception or its details, as over gRPC.</para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed partial class InMemoryNetwork
{
    private readonly object _gate = new();
    private readonly Random _random;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, SyncServer> _endpoints = new(StringComparer.Ordinal);
    private readonly HashSet<string> _disconnected = new(StringComparer.Ordinal);
    private readonly HashSet<(string, string)> _cut = new();
    private readonly List<PendingCall> _pending = new();
    private long _sent;
    private long _delivered;
    private long _dropped;
    private long _duplicated;
    private long _answersLost;
    private long _refused;

    /// <summary>Creates a network.</summary>
    /// <param name="seed">Seed of every random fault decision.</param>
    /// <param name="manualDelivery">When <see langword="true"/>, calls wait until <see cref="DeliverNextAsync"/> delivers them.</param>
    /// <param name="timeProvider">Time for delays in automatic mode; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public InMemoryNetwork(int seed = 0, bool manualDelivery = false, TimeProvider? timeProvider = null)
    {
        _random = new Random(seed);
        ManualDelivery = manualDelivery;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Whether calls wait for <see cref="DeliverNextAsync"/>.</summary>
    public bool ManualDelivery { get; }

    /// <summary>
    /// Whether peers forward the wire extensions beyond v1 (paged <c>GetLeaves</c> with a cursor, <c>Reconcile</c>,
    /// <c>ReconcileSymbols</c>, <c>GossipBatch</c>, <c>StreamAssertions</c>) to the handlers, as the gRPC adapter does. Default <see langword="true"/>; set it to
    /// <see langword="false"/> to model v1-only peers (the cursor is ignored, the others answer
    /// <see cref="SyncStatusCode.Unimplemented"/>, and fetch answers carry hash and data only, with
    /// <see cref="HlcTimestamp.None"/>), which the engine detects and falls back from.
    /// </summary>
    public bool ForwardExtensions { get; set; } = true;

    /// <summary>Probability that a request is lost before it reaches the handler (the caller sees <see cref="SyncStatusCode.Unavailable"/>).</summary>
    public double DropRate { get; set; }

    /// <summary>Probability that the handler runs but its answer is lost (the caller sees <see cref="SyncStatusCode.Unavailable"/>).</summary>
    public double AnswerLossRate { get; set; }

    /// <summary>Probability that a request is delivered to the handler twice.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>Shortest delivery delay in automatic mode.</summary>
    public TimeSpan MinDelay { get; set; }

    /// <summary>Longest delivery delay in automatic mode.</summary>
    public TimeSpan MaxDelay { get; set; }

    /// <summary>The number of calls waiting for <see cref="DeliverNextAsync"/>.</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Counts of what the network did so far.</summary>
    public InMemoryNetworkStatistics Statistics => new(
        Interlocked.Read(ref _sent),
        Interlocked.Read(ref _delivered),
        Interlocked.Read(ref _dropped),
        Interlocked.Read(ref _duplicated),
        Interlocked.Read(ref _answersLost),
        Interlocked.Read(ref _refused));

    /// <summary>Registers an endpoint, or replaces its handler (a node restarted under the same name).</summary>
    /// <param name="name">The endpoint's name.</param>
    /// <param name="handler">The request handler it serves.</param>
    public void SetEndpoint(string name, ISyncRequestHandler handler)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            _endpoints[name] = new SyncServer(handler);
        }
    }

    /// <summary>
    /// Registers an endpoint served through a <see cref="SyncServer"/>, or replaces it: each call passes the server's
    /// guard and authorizer as the caller named by the calling endpoint (<see cref="SyncCaller.Key"/> is its name).
    /// </summary>
    /// <param name="name">The endpoint's name.</param>
    /// <param name="server">The server side it serves.</param>
    public void SetEndpoint(string name, SyncServer server)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(server);
        lock (_gate)
        {
            _endpoints[name] = server;
        }
    }

    /// <summary>Creates the client view that endpoint <paramref name="from"/> has of endpoint <paramref name="to"/>.</summary>
    /// <param name="from">The calling endpoint.</param>
    /// <param name="to">The called endpoint (it may be registered later).</param>
    /// <returns>A peer named <paramref name="to"/>.</returns>
    public ISyncPeer CreatePeer(string from, string to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return new InMemoryPeer(this, from, to);
    }

    /// <summary>Cuts every link between the two groups, both ways.</summary>
    /// <param name="sideA">Endpoints on one side.</param>
    /// <param name="sideB">Endpoints on the other side.</param>
    public void Partition(IEnumerable<string> sideA, IEnumerable<string> sideB)
    {
        ArgumentNullException.ThrowIfNull(sideA);
        ArgumentNullException.ThrowIfNull(sideB);
        List<PendingCall> failed;
        lock (_gate)
        {
            var b = new List<string>(sideB);
            foreach (string a in sideA)
            {
                foreach (string other in b)
                {
                    _cut.Add((a, other));
                    _cut.Add((other, a));
                }
            }

            failed = TakePendingLocked(call => _cut.Contains((call.From, call.To)));
        }

        FailAll(failed, "partitioned");
    }

    /// <summary>Restores every link cut by <see cref="Partition"/>.</summary>
    public void HealPartitions()
    {
        lock (_gate)
        {
            _cut.Clear();
        }
    }

    /// <summary>Takes an endpoint off the network (a crash): calls to and from it fail, pending ones at once.</summary>
    /// <param name="name">The endpoint.</param>
    public void Disconnect(string name)
    {
        List<PendingCall> failed;
        lock (_gate)
        {
            _disconnected.Add(name);
            failed = TakePendingLocked(call => call.From == name || call.To == name);
        }

        FailAll(failed, "disconnected");
    }

    /// <summary>Puts a disconnected endpoint back on the network.</summary>
    /// <param name="name">The endpoint.</param>
    public void Reconnect(string name)
    {
        lock (_gate)
        {
            _disconnected.Remove(name);
        }
    }

    /// <summary>Delivers one pending call, chosen at random (manual mode).</summary>
    /// <returns><see langword="false"/> if nothing was pending.</returns>
    public async ValueTask<bool> DeliverNextAsync()
    {
        PendingCall call;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return false;
            }

            int index = _random.Next(_pending.Count);
            call = _pending[index];
            _pending[index] = _pending[^1];
            _pending.RemoveAt(_pending.Count - 1);
        }

        await call.DeliverAsync().ConfigureAwait(false);
        return true;
    }

    internal async ValueTask<T> CallAsync<T>(
        string from,
        string to,
        SyncRpc rpc,
        Func<ISyncRequestHandler, CancellationToken, ValueTask<T>> invoke,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _sent);
        ThrowIfUnreachable(from, to);
        if (ManualDelivery)
        {
            var call = new PendingCall<T>(this, from, to, rpc, invoke, cancellationToken);
            lock (_gate)
            {
                _pending.Add(call);
            }

            return await call.Task.ConfigureAwait(false);
        }

        TimeSpan delay = NextDelay();
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return await DeliverCoreAsync(from, to, rpc, invoke, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A server-streaming call: opened like any call (faults, delays, manual delivery apply to the request), then every
    /// chunk is copied as it is taken, while both endpoints stay reachable: a partition or a disconnect mid-stream fails
    /// the next chunk with <see cref="SyncStatusCode.Unavailable"/>.
    /// </summary>
    internal async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(
        string from,
        string to,
        Func<ISyncRequestHandler, CancellationToken, IAsyncEnumerable<ReadOnlyMemory<byte>>> open,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ISyncRequestHandler handler = await CallAsync(from, to, SyncRpc.StreamAssertions, static (h, _) => new ValueTask<ISyncRequestHandler>(h), cancellationToken).ConfigureAwait(false);
        IAsyncEnumerator<ReadOnlyMemory<byte>> chunks;
        try
        {
            chunks = open(handler, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (Exception ex) when (AsPeerFailure(ex, from, to, SyncRpc.StreamAssertions, cancellationToken) is { } failure)
        {
            throw failure;
        }

        await using (chunks.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    ThrowIfUnreachable(from, to);
                    more = await chunks.MoveNextAsync().ConfigureAwait(false);
                    ThrowIfUnreachable(from, to);
                }
                catch (SyncPeerException)
                {
                    throw; // this network's own failure (unreachable)
                }
                catch (Exception ex) when (AsPeerFailure(ex, from, to, SyncRpc.StreamAssertions, cancellationToken) is { } failure)
                {
                    throw failure;
                }

                if (!more)
                {
                    break;
                }

                yield return chunks.Current.ToArray();
            }
        }
    }

    private async ValueTask<T> DeliverCoreAsync<T>(
        string from,
        string to,
        SyncRpc rpc,
        Func<ISyncRequestHandler, CancellationToken, ValueTask<T>> invoke,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnreachable(from, to);
        ISyncRequestHandler handler;
        SyncServer? server;
        bool drop;
        bool duplicate;
        bool loseAnswer;
        lock (_gate)
        {
            if (!_endpoints.TryGetValue(to, out server))
            {
                Interlocked.Increment(ref _refused);
                throw new SyncPeerException(SyncStatusCode.Unavailable, $"No endpoint named '{to}' is on the network.");
            }

            handler = server.For(new SyncCaller(from.Length == 0 ? "(unnamed)" : from));

            drop = _random.NextDouble() < DropRate;
            duplicate = !drop && _random.NextDouble() < DuplicateRate;
            loseAnswer = !drop && _random.NextDouble() < AnswerLossRate;
        }

        if (drop)
        {
            Interlocked.Increment(ref _dropped);
            throw new SyncPeerException(SyncStatusCode.Unavailable, $"The request from '{from}' to '{to}' was lost.");
        }

        T result;
        try
        {
            result = await invoke(handler, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _delivered);
            if (duplicate)
            {
                Interlocked.Increment(ref _duplicated);
                try
                {
                    await invoke(handler, cancellationToken).ConfigureAwait(false);
                }
                catch (SyncRequestException)
                {
                    // The duplicate's answer is discarded, whatever it is.
                }
            }
        }
        catch (Exception ex) when (AsPeerFailure(ex, from, to, rpc, cancellationToken, server) is { } failure)
        {
            throw failure;
        }

        if (loseAnswer)
        {
            Interlocked.Increment(ref _answersLost);
            throw new SyncPeerException(SyncStatusCode.Unavailable, $"The answer from '{to}' to '{from}' was lost.");
        }

        return result;
    }

    /// <summary>
    /// What a caller sees of a handler's failure, as the gRPC adapter reports it: a refusal with its status and message,
    /// anything else as an internal error with a generic message (the exception is logged to the endpoint's server, never
    /// passed to the caller); <see langword="null"/> for the caller's own cancellation, which goes through as it is.
    /// </summary>
    private SyncPeerException? AsPeerFailure(
        Exception exception, string from, string to, SyncRpc rpc, CancellationToken cancellationToken, SyncServer? server = null)
    {
        switch (exception)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case SyncRequestException refused:
                return new SyncPeerException(refused.Code, refused.Message, refused);
            default:
                if (server is null)
                {
                    lock (_gate)
                    {
                        _endpoints.TryGetValue(to, out server);
                    }
                }

                if (server is not null)
                {
                    NetworkLog.UnexpectedError(server.Logger, rpc, from, exception);
                }

                return new SyncPeerException(SyncStatusCode.Internal, $"{rpc} to '{to}' failed with Internal: {NetworkLog.InternalErrorMessage}");
        }
    }

    private void ThrowIfUnreachable(string from, string to)
    {
        string? reason = null;
        lock (_gate)
        {
            if (_disconnected.Contains(from))
            {
                reason = $"'{from}' is disconnected.";
            }
            else if (_disconnected.Contains(to))
            {
                reason = $"'{to}' is disconnected.";
            }
            else if (_cut.Contains((from, to)))
            {
                reason = $"'{to}' is unreachable from '{from}' (partitioned).";
            }
        }

        if (reason is not null)
        {
            Interlocked.Increment(ref _refused);
            throw new SyncPeerException(SyncStatusCode.Unavailable, reason);
        }
    }

    private TimeSpan NextDelay()
    {
        if (MaxDelay <= MinDelay)
        {
            return MinDelay;
        }

        double r;
        lock (_gate)
        {
            r = _random.NextDouble();
        }

        return MinDelay + ((MaxDelay - MinDelay) * r);
    }

    private List<PendingCall> TakePendingLocked(Predicate<PendingCall> match)
    {
        var taken = new List<PendingCall>();
        for (int i = _pending.Count - 1; i >= 0; i--)
        {
            if (match(_pending[i]))
            {
                taken.Add(_pending[i]);
                _pending.RemoveAt(i);
            }
        }

        taken.Reverse();
        return taken;
    }

    private void FailAll(List<PendingCall> calls, string why)
    {
        foreach (PendingCall call in calls)
        {
            Interlocked.Increment(ref _refused);
            call.Fail(new SyncPeerException(SyncStatusCode.Unavailable, $"The call from '{call.From}' to '{call.To}' failed: {why}."));
        }
    }

    private void Remove(PendingCall call)
    {
        lock (_gate)
        {
            _pending.Remove(call);
        }
    }
}

using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StemeDb.Sync.Server.Internal;

namespace StemeDb.Sync;

/// <summary>
/// The server side of a node, whatever the transport: it puts a per-caller <see cref="PeerGuard"/> and an
/// <see cref="ISyncCallAuthorizer"/> in front of a node's <see cref="ISyncRequestHandler"/>. A transport names the
/// caller of each call (<see cref="SyncCaller"/>) and calls the handler that <see cref="For"/> returns; the handler
/// itself validates every request and every pushed assertion (lengths, hash, the content validator, clock drift).
/// </summary>
/// <remarks>
/// Each call runs, in order: the guard's admission (calls and request bytes in flight, and the rejected-request rate
/// of the caller's key; a refusal is <see cref="SyncStatusCode.ResourceExhausted"/>), the authorizer, and the
/// handler. A refusal by the authorizer, a request the handler refuses (<see cref="SyncRequestException"/>) and a
/// gossip push it rejects count against the caller's rejected-request rate. The gRPC adapter's
/// <c>SyncServiceImpl</c> and the in-memory transport of <c>StemeDb.Sync.Testing</c> both serve through it.
/// </remarks>
public sealed class SyncServer
{
    /// <summary>Creates the server side of a node.</summary>
    /// <param name="handler">The node's handler (<see cref="SyncNode.Handler"/>).</param>
    /// <param name="guard">Per-caller limits; none when <see langword="null"/>.</param>
    /// <param name="authorizer">Decides who may call; everyone when <see langword="null"/>.</param>
    /// <param name="logger">Where refusals are logged (a refused caller once, then at most once a minute per caller and
    /// kind of refusal); nowhere when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock of the refusal log's interval; the system clock when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    public SyncServer(ISyncRequestHandler handler, PeerGuard? guard = null, ISyncCallAuthorizer? authorizer = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Handler = handler;
        Guard = guard;
        Authorizer = authorizer;
        Logger = logger ?? NullLogger.Instance;
        _refusals = new RefusalLog(timeProvider ?? TimeProvider.System, RefusalLogInterval);
    }

    /// <summary>The shortest time between two log lines about refusals of one caller and kind.</summary>
    internal static readonly TimeSpan RefusalLogInterval = TimeSpan.FromMinutes(1);

    private readonly RefusalLog _refusals;

    /// <summary>The node's handler, which every admitted and authorized call reaches.</summary>
    public ISyncRequestHandler Handler { get; }

    /// <summary>The per-caller limits, or <see langword="null"/>.</summary>
    public PeerGuard? Guard { get; }

    /// <summary>The authorizer, or <see langword="null"/>.</summary>
    public ISyncCallAuthorizer? Authorizer { get; }

    /// <summary>Where the server and the transports serving through it log refusals and failures.</summary>
    public ILogger Logger { get; }

    /// <summary>The handler a transport calls for one caller: the guard and the authorizer in front of <see cref="Handler"/>.</summary>
    /// <param name="caller">Who calls, as the transport names it.</param>
    /// <returns>A handler for the caller's calls; <see cref="Handler"/> itself when there is neither guard nor authorizer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="caller"/> is <see langword="null"/>.</exception>
    public ISyncRequestHandler For(SyncCaller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return Guard is null && Authorizer is null ? Handler : new CallerHandler(this, caller);
    }

    /// <summary>Admits a call or throws the refusal; the lease (when there is a guard) ends with the call.</summary>
    internal PeerGuardLease? Admit(SyncCaller caller, SyncRpc rpc, long requestBytes)
    {
        if (Guard is null)
        {
            return null;
        }

        PeerGuardLease lease = Guard.Enter(caller.Key, requestBytes);
        if (lease.IsAdmitted)
        {
            return lease;
        }

        SyncDiagnostics.CallsRefused.Add(1, SyncDiagnostics.Tag("rpc", rpc.ToString()), SyncDiagnostics.Tag("reason", "limited"));
        if (_refusals.ShouldLog(lease.Peer, lease.Refusal.ToString(), out long suppressed))
        {
            ServerLog.PeerRefused(Logger, rpc, lease.Peer, lease.Refusal, suppressed);
        }

        throw new SyncRequestException(SyncStatusCode.ResourceExhausted, lease.Refusal switch
        {
            PeerGuardRefusal.TooManyConcurrentCalls => "Too many concurrent calls from this peer.",
            PeerGuardRefusal.TooManyBytesInFlight => "Too many request bytes in flight from this peer.",
            _ => $"Too many rejected requests from this peer; refused for another {Math.Ceiling(lease.RetryAfter.TotalSeconds)} s.",
        });
    }

    /// <summary>Runs the authorizer; a refusal counts against the caller and is rethrown.</summary>
    internal async ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, PeerGuardLease? lease, CancellationToken cancellationToken)
    {
        if (Authorizer is null)
        {
            return;
        }

        try
        {
            await Authorizer.AuthorizeAsync(caller, rpc, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            string reason = ex is SyncRequestException { Code: SyncStatusCode.Unauthenticated } ? "unauthenticated"
                : ex is SyncRequestException { Code: SyncStatusCode.PermissionDenied } ? "permission_denied"
                : "refused";
            SyncDiagnostics.CallsRefused.Add(1, SyncDiagnostics.Tag("rpc", rpc.ToString()), SyncDiagnostics.Tag("reason", reason));
            if (_refusals.ShouldLog(caller.Key, reason, out long suppressed))
            {
                ServerLog.CallerRefused(Logger, rpc, caller.Key, reason, ex.Message, suppressed);
            }

            CountRejection(rpc, lease);
            throw;
        }
    }

    /// <summary>Counts a rejected request against the lease's caller; logs when that blocks the caller.</summary>
    internal void CountRejection(SyncRpc rpc, PeerGuardLease? lease)
    {
        if (lease is not null && lease.RecordRejection())
        {
            ServerLog.PeerBlocked(Logger, rpc, lease.Peer);
        }
    }
}

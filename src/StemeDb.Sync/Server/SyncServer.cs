using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StemeDb.Sync.Server.Internal;

namespace StemeDb.Sync;

/// <summary>
/// The server side of a node, whatever the transport: it puts authentication, a per-peer <see cref="PeerGuard"/> and
/// an <see cref="ISyncCallAuthorizer"/> in front of a node's <see cref="ISyncRequestHandler"/>. A transport names the
/// caller of each call (<see cref="SyncCaller"/>) and calls the handler that <see cref="For(SyncCaller)"/> returns; the handler
/// itself validates every request and every pushed assertion (lengths, hash, the content validator, clock drift).
/// </summary>
/// <remarks>
/// <para>
/// Each call runs one pipeline, in order:
/// </para>
/// <list type="number">
/// <item><b>Authenticate.</b> A caller the transport authenticated (a TLS client certificate) is known by its identity.
/// Otherwise, with an authorizer, the authorizer decides first; a refusal counts only against the caller's network
/// <see cref="SyncCaller.Source"/> (<see cref="PeerGuardOptions.MaxAuthenticationFailuresPerWindow"/>), never against
/// an authenticated peer, so that wrong credentials from an address never lock out the right ones.</item>
/// <item><b>Admit.</b> The guard admits the call by the authenticated identity: calls and request bytes in flight,
/// the rejected-request rate and the work rate (a refusal is <see cref="SyncStatusCode.ResourceExhausted"/>).</item>
/// <item><b>Authorize.</b> For a caller the transport authenticated, the authorizer then decides; its refusal counts
/// against that caller.</item>
/// <item><b>Handle and count.</b> The handler runs; a request it refuses (<see cref="SyncRequestException"/>) and a
/// gossip push it rejects count against the caller (rejected pushes are logged per caller, at most once a minute), and
/// the work of the answer is charged to the caller.</item>
/// </list>
/// <para>
/// The gRPC adapter's <c>SyncServiceImpl</c> and the in-memory transport of <c>StemeDb.Sync.Testing</c> both serve
/// through it.
/// </para>
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
    internal ILogger Logger { get; }

    /// <summary>The handler a transport calls for one caller: the pipeline (authenticate, admit, authorize, count) in front of <see cref="Handler"/>.</summary>
    /// <param name="caller">Who calls, as the transport names it.</param>
    /// <returns>A handler for the caller's calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="caller"/> is <see langword="null"/>.</exception>
    public ISyncRequestHandler For(SyncCaller caller) => For(caller, transportAuthorizer: null);

    /// <summary>
    /// The handler a transport calls for one caller, with the transport's own authorization hook (such as an overridden
    /// <c>SyncServiceImpl.AuthorizeAsync</c>) run right after <see cref="Authorizer"/>, as part of it: its refusals count
    /// and are logged like the authorizer's.
    /// </summary>
    /// <param name="caller">Who calls, as the transport names it.</param>
    /// <param name="transportAuthorizer">The transport's hook; none when <see langword="null"/>.</param>
    /// <returns>A handler for the caller's calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="caller"/> is <see langword="null"/>.</exception>
    public ISyncRequestHandler For(SyncCaller caller, ISyncCallAuthorizer? transportAuthorizer)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new CallerHandler(this, caller, transportAuthorizer);
    }

    /// <summary>
    /// Authenticates, admits and authorizes a call, or throws the refusal; the lease (when there is a guard) ends with
    /// the call.
    /// </summary>
    internal async ValueTask<PeerGuardLease?> EnterAsync(
        SyncCaller caller, SyncRpc rpc, long requestBytes, ISyncCallAuthorizer? transportAuthorizer, CancellationToken cancellationToken)
    {
        bool authorizes = Authorizer is not null || transportAuthorizer is not null;
        bool authorizeAfterAdmission = caller.IsAuthenticated || !authorizes;
        if (!authorizeAfterAdmission)
        {
            await AuthenticateAsync(caller, rpc, transportAuthorizer, cancellationToken).ConfigureAwait(false);
        }

        PeerGuardLease? lease = Admit(caller.Key, rpc, requestBytes);
        if (authorizeAfterAdmission && authorizes)
        {
            try
            {
                await AuthorizeAsync(caller, rpc, transportAuthorizer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                string reason = RefusalReason(ex);
                SyncDiagnostics.CallsRefused.Add(1, SyncDiagnostics.Tag("rpc", rpc.ToString()), SyncDiagnostics.Tag("reason", reason));
                if (_refusals.ShouldLog(caller.Key, reason, out long suppressed))
                {
                    ServerLog.CallerRefused(Logger, rpc, caller.Key, reason, ex.Message, suppressed);
                }

                CountRejection(rpc, lease);
                lease?.Dispose();
                throw;
            }
            catch
            {
                lease?.Dispose();
                throw;
            }
        }

        return lease;
    }

    /// <summary>Counts a rejected request against the lease's caller; logs when that blocks the caller.</summary>
    internal void CountRejection(SyncRpc rpc, PeerGuardLease? lease)
    {
        if (lease is not null && lease.RecordRejection())
        {
            ServerLog.PeerBlocked(Logger, rpc, lease.Peer);
        }
    }

    /// <summary>Logs a push the handler rejected, naming the caller: the first, then at most one line a minute per caller.</summary>
    internal void LogRejectedPush(SyncCaller caller, SyncRpc rpc, string reason)
    {
        if (_refusals.ShouldLog(caller.Key, "rejected_push", out long suppressed))
        {
            ServerLog.PushRejected(Logger, rpc, caller.Key, reason, suppressed);
        }
    }

    // A caller the transport did not authenticate, on a node with an authorizer: the authorizer authenticates it before
    // anything else; a refusal counts against the source alone.
    private async ValueTask AuthenticateAsync(SyncCaller caller, SyncRpc rpc, ISyncCallAuthorizer? transportAuthorizer, CancellationToken cancellationToken)
    {
        try
        {
            await AuthorizeAsync(caller, rpc, transportAuthorizer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            string reason = RefusalReason(ex);
            TimeSpan retryAfter = TimeSpan.Zero;
            bool overBudget = Guard is not null
                && Guard.RecordAuthenticationFailure(caller.Source, out retryAfter) == PeerGuardRefusal.TooManyAuthenticationFailures;
            SyncDiagnostics.CallsRefused.Add(1, SyncDiagnostics.Tag("rpc", rpc.ToString()), SyncDiagnostics.Tag("reason", overBudget ? "limited" : reason));
            if (overBudget)
            {
                if (_refusals.ShouldLog(caller.Source, nameof(PeerGuardRefusal.TooManyAuthenticationFailures), out long dropped))
                {
                    ServerLog.PeerRefused(Logger, rpc, caller.Source, PeerGuardRefusal.TooManyAuthenticationFailures, dropped);
                }

                throw new SyncRequestException(
                    SyncStatusCode.ResourceExhausted,
                    $"Too many failed authentications from this address; its failed calls are refused for another {Math.Ceiling(retryAfter.TotalSeconds)} s (valid credentials are still accepted).");
            }

            if (_refusals.ShouldLog(caller.Source, reason, out long suppressed))
            {
                ServerLog.CallerRefused(Logger, rpc, caller.Source, reason, ex.Message, suppressed);
            }

            throw;
        }
    }

    private async ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, ISyncCallAuthorizer? transportAuthorizer, CancellationToken cancellationToken)
    {
        if (Authorizer is not null)
        {
            await Authorizer.AuthorizeAsync(caller, rpc, cancellationToken).ConfigureAwait(false);
        }

        if (transportAuthorizer is not null)
        {
            await transportAuthorizer.AuthorizeAsync(caller, rpc, cancellationToken).ConfigureAwait(false);
        }
    }

    private PeerGuardLease? Admit(string key, SyncRpc rpc, long requestBytes)
    {
        if (Guard is null)
        {
            return null;
        }

        PeerGuardLease lease = Guard.Enter(key, requestBytes);
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
            PeerGuardRefusal.TooMuchWork => $"Too much work asked for by this peer; retry in {Math.Ceiling(lease.RetryAfter.TotalMilliseconds)} ms.",
            _ => $"Too many rejected requests from this peer; refused for another {Math.Ceiling(lease.RetryAfter.TotalSeconds)} s.",
        });
    }

    private static string RefusalReason(Exception ex) =>
        ex is SyncRequestException { Code: SyncStatusCode.Unauthenticated } ? "unauthenticated"
        : ex is SyncRequestException { Code: SyncStatusCode.PermissionDenied } ? "permission_denied"
        : "refused";
}

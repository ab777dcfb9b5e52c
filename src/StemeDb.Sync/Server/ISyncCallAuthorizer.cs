using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync;

/// <summary>
/// Decides whether a caller may make a call to a node; a <see cref="SyncServer"/> asks it before the handler runs,
/// on every transport.
/// </summary>
public interface ISyncCallAuthorizer
{
    /// <summary>Allows the call by completing, or refuses it by throwing.</summary>
    /// <param name="caller">Who calls, as the transport names it.</param>
    /// <param name="rpc">The RPC being called.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    /// <returns>A task that completes when the caller is allowed.</returns>
    /// <exception cref="SyncRequestException">Throw with <see cref="SyncStatusCode.Unauthenticated"/> or
    /// <see cref="SyncStatusCode.PermissionDenied"/> to refuse (a transport may also accept its own refusal type, as the
    /// gRPC adapter accepts an <c>RpcException</c>). A refusal counts against the caller in the server's
    /// <see cref="PeerGuard"/>; the handler is not called and nothing is stored.</exception>
    ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken);
}

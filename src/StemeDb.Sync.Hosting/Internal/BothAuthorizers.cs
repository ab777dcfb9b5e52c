using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>Two authorizers in order: a call is allowed when both allow it.</summary>
internal sealed class BothAuthorizers(ISyncCallAuthorizer first, ISyncCallAuthorizer second) : ISyncCallAuthorizer
{
    public async ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken)
    {
        await first.AuthorizeAsync(caller, rpc, cancellationToken).ConfigureAwait(false);
        await second.AuthorizeAsync(caller, rpc, cancellationToken).ConfigureAwait(false);
    }
}

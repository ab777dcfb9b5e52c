using System;
using System.Threading.Tasks;

namespace StemeDb.Sync.Testing.Internal;

/// <summary>Releases what a contract kit created for one test: asynchronously when it can, else synchronously.</summary>
internal static class Disposal
{
    public static async ValueTask DisposeAsync(object resource)
    {
        switch (resource)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}

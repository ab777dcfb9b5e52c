using System;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Waits for a condition that background work makes true; the caller's token (the fixture's CancelAfter) bounds it.</summary>
internal static class Poll
{
    public static Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken) =>
        UntilAsync(() => Task.FromResult(condition()), cancellationToken);

    public static async Task UntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}

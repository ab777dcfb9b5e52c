using System;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Testing.Internal;

/// <summary>Log messages of <see cref="InMemoryNetwork"/>, with stable event ids.</summary>
internal static class NetworkLog
{
    /// <summary>What a caller is told of a handler's unexpected failure: the gRPC adapter's generic message, no details.</summary>
    public const string InternalErrorMessage = "The server failed to process the request.";

    private static readonly Action<ILogger, SyncRpc, string, Exception?> LogUnexpectedError = LoggerMessage.Define<SyncRpc, string>(
        LogLevel.Error,
        new EventId(1, "UnexpectedError"),
        "{Rpc} from {Peer} failed with an unexpected error; the caller gets INTERNAL");

    /// <summary>A handler failed with an exception other than a refusal; the caller gets <see cref="SyncStatusCode.Internal"/>.</summary>
    public static void UnexpectedError(ILogger logger, SyncRpc rpc, string peer, Exception exception) =>
        LogUnexpectedError(logger, rpc, peer, exception);
}

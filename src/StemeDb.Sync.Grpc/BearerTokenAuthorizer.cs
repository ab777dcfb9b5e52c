using System;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;

namespace StemeDb.Sync.Grpc;

/// <summary>
/// Admits the gRPC calls that carry <c>authorization: Bearer &lt;token&gt;</c> with a shared token, for nodes without
/// mutual TLS; every other call is refused with <see cref="SyncStatusCode.Unauthenticated"/> before the handler runs,
/// and the refusal counts against the caller in the server's <see cref="PeerGuard"/>. Peers send the token with
/// <see cref="GrpcSyncPeerOptions.Headers"/>. The comparison takes the same time whatever the token presented.
/// </summary>
/// <remarks>Send tokens over TLS only: in cleartext anyone on the path reads them.</remarks>
public sealed class BearerTokenAuthorizer : ISyncCallAuthorizer
{
    /// <summary>The header the token travels in.</summary>
    public const string HeaderName = "authorization";

    /// <summary>The shortest token accepted, in bytes of its UTF-8 encoding: 16 (128 bits, if they are random).</summary>
    public const int MinimumTokenBytes = 16;

    private readonly byte[] _expected;

    /// <summary>Creates the authorizer.</summary>
    /// <param name="token">The shared token: at least <see cref="MinimumTokenBytes"/> bytes in UTF-8, no surrounding white space.</param>
    /// <exception cref="ArgumentException"><paramref name="token"/> is empty, shorter than <see cref="MinimumTokenBytes"/>
    /// bytes, or has surrounding white space.</exception>
    public BearerTokenAuthorizer(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (token.Trim().Length != token.Length)
        {
            throw new ArgumentException("The token must not start or end with white space.", nameof(token));
        }

        if (Encoding.UTF8.GetByteCount(token) < MinimumTokenBytes)
        {
            throw new ArgumentException(TooShort(Encoding.UTF8.GetByteCount(token)), nameof(token));
        }

        _expected = Encoding.UTF8.GetBytes("Bearer " + token);
    }

    /// <summary>The message for a token of <paramref name="bytes"/> bytes, shorter than <see cref="MinimumTokenBytes"/>.</summary>
    private static string TooShort(int bytes) =>
        $"The token is {bytes} bytes long; a bearer token must be at least {MinimumTokenBytes} bytes (UTF-8), such as 32 random hex digits (openssl rand -hex 16).";

    /// <summary>The header value a peer sends: <c>Bearer &lt;token&gt;</c>.</summary>
    /// <param name="token">The shared token.</param>
    /// <returns>The value of the <c>authorization</c> header.</returns>
    public static string HeaderValue(string token) => "Bearer " + token;

    /// <inheritdoc />
    public ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        string? presented = (caller.TransportContext as ServerCallContext)?.RequestHeaders.GetValue(HeaderName);
        if (presented is null)
        {
            throw new SyncRequestException(SyncStatusCode.Unauthenticated, "This node requires a bearer token (authorization: Bearer <token>).");
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _expected))
        {
            throw new SyncRequestException(SyncStatusCode.Unauthenticated, "The bearer token is not accepted.");
        }

        return default;
    }
}

using System;
using System.Collections.Generic;
using System.Net.Http;
using Grpc.Core;
using System.Threading;

namespace StemeDb.Sync.Grpc;

/// <summary>Settings of a <see cref="GrpcSyncPeer"/>. Works without dependency injection.</summary>
public sealed class GrpcSyncPeerOptions
{
    /// <summary>
    /// A gRPC deadline for each call, counted from its start; a call still running then fails with
    /// <see cref="SyncStatusCode.DeadlineExceeded"/>. Default: <see cref="Timeout.InfiniteTimeSpan"/>, no gRPC deadline.
    /// </summary>
    /// <remarks>
    /// A peer added to a <see cref="SyncNode"/> needs none: the node's <see cref="SyncNodeOptions.PeerCallTimeout"/>
    /// is the deadline of every call it makes (it cancels the call's token at the deadline, and reports the call as
    /// <see cref="SyncStatusCode.DeadlineExceeded"/>). Set it when calling the peer directly, without a node, or to
    /// have the server see the deadline too; a shorter one of the two then ends the call first.
    /// </remarks>
    public TimeSpan Deadline { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// The largest response the client accepts, in bytes; <see langword="null"/> keeps the gRPC default (4 MiB).
    /// Used only when the peer creates its own channel (<see cref="GrpcSyncPeer.Create(Uri, GrpcSyncPeerOptions?)"/>).
    /// </summary>
    public int? MaxReceiveMessageSize { get; set; }

    /// <summary>
    /// The largest request the client sends, in bytes; <see langword="null"/> means no client-side limit.
    /// Used only when the peer creates its own channel.
    /// </summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// The HTTP handler of a channel the peer creates: TLS settings (a client certificate, a custom server certificate
    /// check), or credentials for every call (a <see cref="DelegatingHandler"/> that adds a header in front of a
    /// <see cref="SocketsHttpHandler"/>); <see langword="null"/> uses the gRPC default. The channel disposes it.
    /// Used only when the peer creates its own channel.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>
    /// Headers sent with every call, for credentials a peer requires: an API key, or
    /// <c>authorization: Bearer &lt;token&gt;</c> for a node that checks it with <see cref="BearerTokenAuthorizer"/>.
    /// Names are lowercase ASCII, as gRPC metadata requires. Empty by default.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The clock deadlines are computed from. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks the settings and returns a copy the peer keeps, so later changes do not affect it.</summary>
    internal GrpcSyncPeerOptions ValidateAndCopy()
    {
        if (Deadline != Timeout.InfiniteTimeSpan && Deadline <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Deadline), Deadline, "The deadline must be positive, or Timeout.InfiniteTimeSpan for none.");
        }

        if (MaxReceiveMessageSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "The maximum receive size must be positive, or null for the default.");
        }

        if (MaxSendMessageSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSendMessageSize), MaxSendMessageSize, "The maximum send size must be positive, or null for no limit.");
        }

        try
        {
            var metadata = new Metadata();
            foreach (KeyValuePair<string, string> header in Headers)
            {
                metadata.Add(header.Key, header.Value ?? throw new ArgumentException($"The header '{header.Key}' has no value.", nameof(Headers)));
            }
        }
        catch (ArgumentException ex) when (ex.ParamName != nameof(Headers))
        {
            throw new ArgumentException($"A header name is not valid gRPC metadata: {ex.Message}", nameof(Headers), ex);
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("The time provider must not be null.", nameof(TimeProvider));
        }

        var copy = new GrpcSyncPeerOptions
        {
            Deadline = Deadline,
            MaxReceiveMessageSize = MaxReceiveMessageSize,
            MaxSendMessageSize = MaxSendMessageSize,
            HttpHandler = HttpHandler,
            TimeProvider = TimeProvider,
        };

        foreach (KeyValuePair<string, string> header in Headers)
        {
            copy.Headers.Add(header.Key, header.Value);
        }

        return copy;
    }
}

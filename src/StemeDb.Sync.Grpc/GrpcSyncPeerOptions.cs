using System;
using System.Net.Http;
using System.Threading;

namespace StemeDb.Sync.Grpc;

/// <summary>Settings of a <see cref="GrpcSyncPeer"/>. Works without dependency injection.</summary>
public sealed class GrpcSyncPeerOptions
{
    /// <summary>The default per-call deadline (10 seconds).</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The deadline of each call, counted from its start; a call still running then fails with
    /// <see cref="SyncStatusCode.DeadlineExceeded"/>. <see cref="Timeout.InfiniteTimeSpan"/> sends no
    /// deadline. Default: 10 seconds.
    /// </summary>
    public TimeSpan Deadline { get; set; } = DefaultDeadline;

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
    /// The HTTP handler of a channel the peer creates, for TLS settings such as a client certificate or a custom
    /// server certificate check; <see langword="null"/> uses the gRPC default. The channel disposes it.
    /// Used only when the peer creates its own channel.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

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

        if (TimeProvider is null)
        {
            throw new ArgumentException("The time provider must not be null.", nameof(TimeProvider));
        }

        return new GrpcSyncPeerOptions
        {
            Deadline = Deadline,
            MaxReceiveMessageSize = MaxReceiveMessageSize,
            MaxSendMessageSize = MaxSendMessageSize,
            HttpHandler = HttpHandler,
            TimeProvider = TimeProvider,
        };
    }
}

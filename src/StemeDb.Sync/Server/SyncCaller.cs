using System;

namespace StemeDb.Sync;

/// <summary>
/// Who makes a call to a node, as the transport that carried it names the caller. A <see cref="SyncServer"/>
/// authenticates the caller first (the transport did when <see cref="IsAuthenticated"/>; otherwise its
/// <see cref="ISyncCallAuthorizer"/> does), then keys its <see cref="PeerGuard"/> limits by the authenticated identity;
/// failed authentications count against <see cref="Source"/> alone.
/// </summary>
public sealed class SyncCaller
{
    /// <summary>Creates a caller.</summary>
    /// <param name="key">A non-empty name of the caller; calls with equal keys share limits (for example an
    /// authenticated identity, or a remote address without its port).</param>
    /// <param name="isAuthenticated">Whether the transport authenticated the caller (for example by a TLS client certificate).</param>
    /// <param name="transportContext">The transport's own object for the call, for authorizers that need it
    /// (the gRPC adapter passes its <c>ServerCallContext</c>); <see langword="null"/> when there is none.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    public SyncCaller(string key, bool isAuthenticated = false, object? transportContext = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Key = key;
        IsAuthenticated = isAuthenticated;
        TransportContext = transportContext;
    }

    /// <summary>The caller's name; calls with equal keys share limits.</summary>
    public string Key { get; }

    /// <summary>Whether the transport authenticated the caller.</summary>
    public bool IsAuthenticated { get; }

    /// <summary>The transport's own object for the call, or <see langword="null"/>.</summary>
    public object? TransportContext { get; }

    /// <summary>
    /// The network source of the call, which failed authentications count against (an IPv4 address, or an IPv6 /64
    /// prefix, so that rotating addresses within one network gains nothing); <see cref="Key"/> when not set.
    /// </summary>
    /// <exception cref="ArgumentException">Set to null or empty.</exception>
    public string Source
    {
        get => _source ?? Key;
        internal init
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            _source = value;
        }
    }

    private readonly string? _source;

    /// <inheritdoc />
    public override string ToString() => Key;
}

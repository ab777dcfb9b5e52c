using System;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>A minimal <see cref="ServerCallContext"/> for calling service methods directly.</summary>
internal sealed class TestServerCallContext : ServerCallContext
{
    private readonly Metadata _requestHeaders;
    private readonly CancellationToken _cancellationToken;

    private readonly string _peer;

    public TestServerCallContext(Metadata? requestHeaders = null, CancellationToken cancellationToken = default)
        : this("ipv4:127.0.0.1:1", requestHeaders, cancellationToken)
    {
    }

    public TestServerCallContext(string peer, Metadata? requestHeaders = null, CancellationToken cancellationToken = default)
    {
        _peer = peer;
        _requestHeaders = requestHeaders ?? new Metadata();
        _cancellationToken = cancellationToken;
    }

    protected override string MethodCore => "/stemedb.sync.v1.SyncService/Test";

    protected override string HostCore => "localhost";

    protected override string PeerCore => _peer;

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _requestHeaders;

    protected override CancellationToken CancellationTokenCore => _cancellationToken;

    protected override Metadata ResponseTrailersCore { get; } = new();

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    /// <summary>The call's authentication (default: none).</summary>
    public AuthContext Auth { get; init; } = new(null, new System.Collections.Generic.Dictionary<string, System.Collections.Generic.List<AuthProperty>>());

    protected override AuthContext AuthContextCore => Auth;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}

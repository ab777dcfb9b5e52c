using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>Starts the node with the host, connects its configured peers, and reports health; stops it with the host.</summary>
internal sealed class StemeDbSyncHostedService : IHostedService, IDisposable
{
    private readonly SyncNode _node;
    private readonly HealthServiceImpl _health;
    private readonly StemeDbSyncOptions _options;
    private readonly ILogger _logger;
    private readonly List<GrpcSyncPeer> _peers = new();
    private readonly PeerConfiguration[] _peerConfigurations;

    public StemeDbSyncHostedService(
        SyncNode node,
        HealthServiceImpl health,
        IOptions<StemeDbSyncOptions> options,
        IEnumerable<PeerConfiguration> peerConfigurations,
        ILogger<StemeDbSyncHostedService>? logger = null)
    {
        _peerConfigurations = peerConfigurations.ToArray();
        _node = node;
        _health = health;
        _options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _node.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (string address in _options.Peers)
        {
            // The validator has checked every address at start-up. No gRPC deadline: the node's PeerCallTimeout is the
            // deadline of every call it makes.
            StemeDbSyncOptionsValidator.TryParsePeer(address, out Uri? uri, out _);
            var peerOptions = new GrpcSyncPeerOptions { HttpHandler = TlsFiles.CreatePeerHandler(_options.Tls) };
            if (_options.TokenFile is { } tokenFile)
            {
                peerOptions.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(TlsFiles.ReadToken(tokenFile));
            }

            foreach (PeerConfiguration configuration in _peerConfigurations)
            {
                configuration.Apply(uri!, peerOptions);
            }

            GrpcSyncPeer peer = GrpcSyncPeer.Create(uri!, peerOptions);
            _peers.Add(peer);
            _node.AddPeer(peer);
        }

        SetHealth(HealthCheckResponse.Types.ServingStatus.Serving);
        HostingLog.NodeServing(_logger, _node.NodeId, _node.Count, _peers.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        SetHealth(HealthCheckResponse.Types.ServingStatus.NotServing);
        try
        {
            await _node.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            DisposePeers();
        }
    }

    public void Dispose() => DisposePeers();

    private void DisposePeers()
    {
        foreach (GrpcSyncPeer peer in _peers)
        {
            _node.RemovePeer(peer);
            peer.Dispose();
        }

        _peers.Clear();
    }

    private void SetHealth(HealthCheckResponse.Types.ServingStatus status) => SetHealth(_health, status);

    public static void SetHealth(HealthServiceImpl health, HealthCheckResponse.Types.ServingStatus status)
    {
        health.SetStatus(string.Empty, status);
        health.SetStatus(StemeDbSyncHealth.ServiceName, status);
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// Starts the node with the host, connects its configured peers, and reports health; stops it with the host. Once every
/// hosted service has started (the web server has bound its addresses), checks where the node is served
/// (<see cref="ServedEndpoints"/>) and fails the host's start when it is exposed to callers it does not authenticate.
/// </summary>
internal sealed class StemeDbSyncHostedService : IHostedLifecycleService, IAsyncDisposable
{
    private readonly SyncNode _node;
    private readonly HealthServiceImpl _health;
    private readonly ILogger _logger;
    private readonly PeerDirectory _peers;
    private readonly StemeDbSyncOptions _options;
    private readonly ServedEndpoints _served;
    private readonly bool _authorizerRegistered;

    public StemeDbSyncHostedService(
        SyncNode node,
        HealthServiceImpl health,
        IOptions<StemeDbSyncOptions> options,
        IOptionsFactory<StemeDbSyncOptions> optionsFactory,
        IEnumerable<IOptionsChangeTokenSource<StemeDbSyncOptions>> optionsChanges,
        IOptions<SyncNodeOptions> nodeOptions,
        IEnumerable<PeerConfiguration> peerConfigurations,
        IPeerNameResolver resolver,
        TimeProvider time,
        ServedEndpoints served,
        ILoggerFactory? loggerFactory = null,
        ISyncCallAuthorizer? authorizer = null)
    {
        _options = options.Value;
        _served = served;
        _authorizerRegistered = authorizer is not null;
        _node = node;
        _health = health;
        _options = options.Value;
        _logger = (ILogger?)loggerFactory?.CreateLogger<StemeDbSyncHostedService>() ?? NullLogger.Instance;
        _peers = new PeerDirectory(node, options.Value, optionsFactory, optionsChanges, peerConfigurations, resolver, time, nodeOptions.Value.PeerCallTimeout, _logger);
    }

    /// <summary>The peers the node has now, by address.</summary>
    internal PeerDirectory Peers => _peers;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        WarnIfReadableByOthers(_options.TokenFile, $"{StemeDbSyncOptions.SectionName}:{nameof(StemeDbSyncOptions.TokenFile)}");
        WarnIfReadableByOthers(_options.Tls.KeyFile, $"{StemeDbSyncOptions.SectionName}:{nameof(StemeDbSyncOptions.Tls)}:{nameof(StemeDbSyncTlsOptions.KeyFile)}");
        await _node.StartAsync(cancellationToken).ConfigureAwait(false);
        await _peers.StartAsync(cancellationToken).ConfigureAwait(false);
        SetHealth(HealthCheckResponse.Types.ServingStatus.Serving);
        HostingLog.NodeServing(_logger, _node.NodeId, _node.Count, _peers.Addresses.Count);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (_served.Check(_options, _authorizerRegistered) is { } problem)
        {
            HostingLog.Exposed(_logger, problem);
            throw new InvalidOperationException(problem);
        }

        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        SetHealth(HealthCheckResponse.Types.ServingStatus.NotServing);
        try
        {
            await _node.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _peers.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => _peers.DisposeAsync();

    /// <summary>Logs a warning when the secret in <paramref name="path"/> can be read by the file's group or others (Unix).</summary>
    private void WarnIfReadableByOthers(string? path, string setting)
    {
        if (path is not null && SecretFiles.PermissionWarning(path, setting) is { } warning)
        {
            HostingLog.SecretFileReadable(_logger, warning);
        }
    }

    private void SetHealth(HealthCheckResponse.Types.ServingStatus status) => SetHealth(_health, status);

    public static void SetHealth(HealthServiceImpl health, HealthCheckResponse.Types.ServingStatus status)
    {
        health.SetStatus(string.Empty, status);
        health.SetStatus(StemeDbSyncHealth.ServiceName, status);
    }
}

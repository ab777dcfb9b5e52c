using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>Resolves peer names: a host name to its addresses, a service name to its SRV records; replaced by a fake in tests.</summary>
internal interface IPeerNameResolver
{
    /// <summary>The A and AAAA addresses of <paramref name="host"/>; throws <see cref="SocketException"/> when it has none.</summary>
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);

    /// <summary>The SRV records of <paramref name="name"/>; throws <see cref="DnsException"/> when the lookup fails.</summary>
    Task<SrvRecord[]> ResolveServiceAsync(string name, CancellationToken cancellationToken);
}

/// <summary>
/// The system resolver for addresses, and <see cref="DnsSrvClient"/> on the nameservers of <c>/etc/resolv.conf</c>
/// (read at every lookup) for SRV records.
/// </summary>
internal sealed class SystemPeerNameResolver : IPeerNameResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);

    public Task<SrvRecord[]> ResolveServiceAsync(string name, CancellationToken cancellationToken) =>
        new DnsSrvClient(ResolverConfiguration.Read(), DnsSrvClient.DefaultTimeout, TimeProvider.System).QueryAsync(name, cancellationToken);
}

/// <summary>
/// Keeps the node's peers equal to what the options name: the listed <see cref="StemeDbSyncOptions.Peers"/>, and every
/// address the <see cref="StemeDbSyncOptions.PeerDns"/> names resolve to (A/AAAA records of <c>NAME:PORT</c>; for a
/// <c>NAME</c> without a port, the A/AAAA records of the targets of its lowest-priority SRV records), resolved again every
/// <see cref="StemeDbSyncOptions.PeerDnsInterval"/> and whenever the configuration is reloaded. Peers that appear are
/// added, peers that disappear are removed and disposed. A resolved address becomes a peer only once it answered a
/// ping with a node id other than this node's (so a node never peers with itself); one that did not answer is tried
/// again at the next resolution.
/// </summary>
internal sealed class PeerDirectory : IAsyncDisposable
{
    private readonly SyncNode _node;
    private readonly IOptionsFactory<StemeDbSyncOptions> _factory;
    private readonly IOptionsChangeTokenSource<StemeDbSyncOptions>[] _sources;
    private StemeDbSyncOptions _options;
    private readonly PeerConfiguration[] _configurations;
    private readonly IPeerNameResolver _resolver;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pingTimeout;
    private readonly string? _token;
    private readonly ILogger _logger;
    private readonly Dictionary<string, GrpcSyncPeer> _peers = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _self = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _warnedCleartext = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _warnedCapped = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private IDisposable[] _onChange = [];
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    public PeerDirectory(
        SyncNode node,
        StemeDbSyncOptions options,
        IOptionsFactory<StemeDbSyncOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<StemeDbSyncOptions>> sources,
        IEnumerable<PeerConfiguration> configurations,
        IPeerNameResolver resolver,
        TimeProvider time,
        TimeSpan pingTimeout,
        ILogger logger)
    {
        _pingTimeout = pingTimeout;

        // The token is read once, when the host starts, like the server's (a reload does not change it).
        _token = options.TokenFile is { } tokenFile ? BearerTokenAuthorizer.HeaderValue(SecretFiles.ReadToken(tokenFile)) : null;
        _node = node;
        _options = options;
        _factory = factory;
        _sources = [.. sources];
        _configurations = configurations.ToArray();
        _resolver = resolver;
        _time = time;
        _logger = logger;
    }

    /// <summary>The current peers, by normalized address.</summary>
    public IReadOnlyCollection<string> Addresses
    {
        get
        {
            lock (_peers)
            {
                return [.. _peers.Keys];
            }
        }
    }

    /// <summary>Adds the configured peers, resolves the names once, then follows changes in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        // Follows reloads through the change tokens, not IOptionsMonitor: a reloaded configuration that fails validation
        // is then logged and ignored here, instead of throwing on the thread that reloads the configuration.
        _onChange = [.. _sources.Select(source => ChangeToken.OnChange(() => source.GetChangeToken(), Wake))];
        _loop = Task.Run(() => FollowAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Makes the peers match the options and the names' current addresses.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            StemeDbSyncOptions options = Reload();
            var wanted = new Dictionary<string, (Uri Address, string? TlsName, bool CheckSelf)>(StringComparer.OrdinalIgnoreCase);
            foreach (string text in options.Peers)
            {
                if (StemeDbSyncOptionsValidator.TryParsePeer(text, out Uri? uri, out _))
                {
                    wanted.TryAdd(Key(uri!), (uri!, null, false));
                }
            }

            foreach (string entry in options.PeerDns)
            {
                if (!PeerDnsEntry.TryParse(entry, out string? scheme, out string? host, out int port, out _))
                {
                    continue;
                }

                scheme ??= options.Tls.CertificateFile is not null || options.Tls.PeerCaFile is not null ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;
                var found = new List<(Uri Address, string TlsName)>();
                IReadOnlyList<(string Host, int Port)> targets = [(host!, port)];
                if (port == 0)
                {
                    try
                    {
                        targets = Targets(await _resolver.ResolveServiceAsync(host!, cancellationToken).ConfigureAwait(false));
                    }
                    catch (DnsException ex)
                    {
                        HostingLog.PeerDnsFailed(_logger, host!, ex.Message);
                        continue;
                    }
                }

                foreach ((string target, int targetPort) in targets)
                {
                    IPAddress[] addresses;
                    try
                    {
                        addresses = await _resolver.ResolveAsync(target, cancellationToken).ConfigureAwait(false);
                    }
                    catch (SocketException ex)
                    {
                        HostingLog.PeerDnsFailed(_logger, target, ex.Message);
                        continue;
                    }

                    foreach (IPAddress address in addresses)
                    {
                        found.Add((new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://{(address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{targetPort}")), target));
                    }
                }

                foreach ((Uri uri, string target) in Capped(entry, found, options.PeerDnsMaxPeers))
                {
                    wanted.TryAdd(Key(uri), (uri, target, true));
                }
            }

            List<GrpcSyncPeer> gone;
            List<(string Key, Uri Address, string? TlsName, bool CheckSelf)> added = [];
            lock (_peers)
            {
                gone = _peers.Where(p => !wanted.ContainsKey(p.Key)).Select(p => p.Value).ToList();
                foreach (string key in _peers.Keys.Where(k => !wanted.ContainsKey(k)).ToList())
                {
                    _peers.Remove(key);
                }

                foreach ((string key, (Uri address, string? tlsName, bool checkSelf)) in wanted)
                {
                    if (!_peers.ContainsKey(key) && !_self.Contains(key))
                    {
                        added.Add((key, address, tlsName, checkSelf));
                    }
                }

                _self.RemoveWhere(k => !wanted.ContainsKey(k));
            }

            foreach (GrpcSyncPeer peer in gone)
            {
                _node.RemovePeer(peer);
                peer.Dispose();
                HostingLog.PeerLeft(_logger, peer.Name);
            }

            foreach ((string key, Uri address, string? tlsName, bool checkSelf) in added)
            {
                GrpcSyncPeer peer = Create(options, address, tlsName);
                if (checkSelf && !await IsAnotherNodeAsync(peer, key, cancellationToken).ConfigureAwait(false))
                {
                    peer.Dispose();
                    continue;
                }

                lock (_peers)
                {
                    _peers[key] = peer;
                }

                _node.AddPeer(peer);
            }
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (IDisposable registration in _onChange)
        {
            registration.Dispose();
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        GrpcSyncPeer[] peers;
        lock (_peers)
        {
            peers = [.. _peers.Values];
            _peers.Clear();
        }

        foreach (GrpcSyncPeer peer in peers)
        {
            _node.RemovePeer(peer);
            peer.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>The options as configured now; the last valid ones when the configuration now fails validation.</summary>
    private StemeDbSyncOptions Reload()
    {
        if (_sources.Length == 0)
        {
            return _options;
        }

        try
        {
            StemeDbSyncOptions current = _factory.Create(Options.DefaultName);
            Volatile.Write(ref _options, current);
            return current;
        }
        catch (OptionsValidationException ex)
        {
            HostingLog.ReloadIgnored(_logger, string.Join(" ", ex.Failures));
            return _options;
        }
    }

    /// <summary>
    /// The hosts and ports SRV records name: the records of the lowest priority only (the others are backups, RFC 2782),
    /// every one of them (weights choose among targets for load, but each target here becomes a peer), without the
    /// records whose target is the root (the service is not offered) or whose port is 0.
    /// </summary>
    internal static IReadOnlyList<(string Host, int Port)> Targets(IEnumerable<SrvRecord> records)
    {
        SrvRecord[] usable = [.. records.Where(r => r.Target.Length > 0 && r.Port > 0)];
        if (usable.Length == 0)
        {
            return [];
        }

        ushort lowest = usable.Min(r => r.Priority);
        return [.. usable.Where(r => r.Priority == lowest).Select(r => (r.Target, (int)r.Port)).Distinct()];
    }

    private static string Key(Uri address) => address.GetLeftPart(UriPartial.Path).TrimEnd('/');

    /// <summary>
    /// At most <paramref name="max"/> of the peers one DNS entry names, the first in the order of their addresses (so the
    /// same ones stay peers whatever order the answers come in); the rest are ignored with a warning when their number changes.
    /// </summary>
    private List<(Uri Address, string TlsName)> Capped(string entry, List<(Uri Address, string TlsName)> found, int max)
    {
        var distinct = found.DistinctBy(p => Key(p.Address), StringComparer.OrdinalIgnoreCase).ToList();
        int ignored = Math.Max(0, distinct.Count - max);
        lock (_warnedCapped)
        {
            if (_warnedCapped.GetValueOrDefault(entry) != ignored)
            {
                _warnedCapped[entry] = ignored;
                if (ignored > 0)
                {
                    HostingLog.PeerDnsCapped(_logger, entry, distinct.Count, max, ignored);
                }
            }
        }

        return ignored == 0 ? distinct : [.. distinct.OrderBy(p => Key(p.Address), StringComparer.OrdinalIgnoreCase).Take(max)];
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        Task woken = _wake.WaitAsync(cancellationToken);
        while (true)
        {
            StemeDbSyncOptions options = Volatile.Read(ref _options);
            if (options.PeerDns.Count > 0)
            {
                await Task.WhenAny(woken, Task.Delay(options.PeerDnsInterval, _time, cancellationToken)).ConfigureAwait(false);
            }
            else
            {
                await woken.ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (woken.IsCompleted)
            {
                woken = _wake.WaitAsync(cancellationToken);
            }

            try
            {
                await RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                HostingLog.PeerRefreshFailed(_logger, ex);
            }
        }
    }

    private async Task<bool> IsAnotherNodeAsync(GrpcSyncPeer peer, string key, CancellationToken cancellationToken)
    {
        PingResult ping;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_pingTimeout);
            ping = await peer.PingAsync(_node.NodeId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SyncPeerException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            HostingLog.PeerNotReachable(_logger, peer.Name, ex.Message);
            return false; // tried again at the next resolution
        }

        if (ping.NodeId == _node.NodeId)
        {
            lock (_peers)
            {
                _self.Add(key);
            }

            HostingLog.PeerIsSelf(_logger, peer.Name);
            return false;
        }

        return true;
    }

    private GrpcSyncPeer Create(StemeDbSyncOptions options, Uri address, string? tlsName)
    {
        // No gRPC deadline: the node's PeerCallTimeout is the deadline of every call it makes.
        HttpMessageHandler? handler = TlsFiles.CreatePeerHandler(options.Tls, tlsName);
        if (tlsName is not null && options.Tls.AllowedPeers.Count > 0 && handler is SocketsHttpHandler sockets)
        {
            RequireAllowedName(sockets, [.. options.Tls.AllowedPeers]);
        }

        var peerOptions = new GrpcSyncPeerOptions { HttpHandler = handler };
        if (_token is not null)
        {
            peerOptions.Headers[BearerTokenAuthorizer.HeaderName] = _token;
        }

        foreach (PeerConfiguration configuration in _configurations)
        {
            configuration.Apply(address, peerOptions);
        }

        // A bearer token in cleartext beyond this machine is readable by anyone on the path: it is not sent, whether it
        // comes from TokenFile or from ConfigurePeers.
        if (!SecretFiles.MaySendToken(address)
            && peerOptions.Headers.Keys.Where(k => string.Equals(k, BearerTokenAuthorizer.HeaderName, StringComparison.OrdinalIgnoreCase)).ToList() is { Count: > 0 } credentials)
        {
            foreach (string header in credentials)
            {
                peerOptions.Headers.Remove(header);
            }


            bool first;
            lock (_warnedCleartext)
            {
                first = _warnedCleartext.Add(Key(address));
            }

            if (first)
            {
                HostingLog.TokenNotSentInCleartext(_logger, Key(address));
            }
        }

        return GrpcSyncPeer.Create(address, peerOptions);
    }

    /// <summary>
    /// A peer found by DNS was dialled by a name DNS supplied (the name of the A records, or an SRV target): its server
    /// certificate must also carry one of the configured <see cref="StemeDbSyncTlsOptions.AllowedPeers"/>, so that whoever
    /// controls the DNS answers cannot make the node call a server that merely has a certificate for another name.
    /// </summary>
    private static void RequireAllowedName(SocketsHttpHandler handler, string[] allowed)
    {
        RemoteCertificateValidationCallback? inner = handler.SslOptions.RemoteCertificateValidationCallback;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            if (certificate is null || !(inner is null ? errors == SslPolicyErrors.None : inner(sender, certificate, chain, errors)))
            {
                return false;
            }

            using X509Certificate2 presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return TlsFiles.IsAllowed(presented, allowed);
        };
    }
}

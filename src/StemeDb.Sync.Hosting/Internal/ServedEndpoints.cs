using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// Where the host serves the node, as StemeDb.Sync.AspNetCore reports it: the endpoints that serve
/// <c>UseStemeDbSyncTls()</c> (and whether they authenticate callers with a client CA and allowed peers), the server's
/// addresses and the ports the sync service is mapped on (<c>MapStemeDbSync</c>). Checked once the server has bound
/// (<see cref="Check"/>), so that a host never keeps serving the node beyond loopback to callers it does not
/// authenticate, unless it says it authenticates them another way.
/// </summary>
internal sealed class ServedEndpoints
{
    private readonly object _lock = new();
    private readonly List<(Func<EndPoint?> EndPoint, bool Authenticates)> _tls = [];
    private readonly List<(Func<IEnumerable<string>> Addresses, int[] Ports)> _mapped = [];
    private volatile bool _checked;

    /// <summary>Whether <see cref="Check"/> passed: until then the sync service answers no call.</summary>
    public bool Checked => _checked;

    /// <summary>An endpoint serves <c>UseStemeDbSyncTls()</c>; <paramref name="endPoint"/> gives its bound address once it is bound.</summary>
    public void AddTls(Func<EndPoint?> endPoint, bool authenticatesCallers)
    {
        lock (_lock)
        {
            _tls.Add((endPoint, authenticatesCallers));
        }
    }

    /// <summary>The sync service is mapped: on <paramref name="ports"/> only, or every port of the server when empty.</summary>
    public void AddMapping(Func<IEnumerable<string>> addresses, int[] ports)
    {
        lock (_lock)
        {
            _mapped.Add((addresses, ports));
        }
    }

    /// <summary>
    /// Checks the served endpoints against the options once the server has bound; the problem, or
    /// <see langword="null"/> when there is none (and the sync service may answer calls from then on).
    /// </summary>
    /// <param name="options">The node's hosting options.</param>
    /// <param name="authorizerRegistered">Whether the host registered an <see cref="ISyncCallAuthorizer"/>.</param>
    public string? Check(StemeDbSyncOptions options, bool authorizerRegistered)
    {
        ArgumentNullException.ThrowIfNull(options);
        string prefix = StemeDbSyncOptions.SectionName + ":";
        string tlsPrefix = prefix + nameof(StemeDbSyncOptions.Tls) + ":";
        List<(Func<EndPoint?> EndPoint, bool Authenticates)> tls;
        List<(Func<IEnumerable<string>> Addresses, int[] Ports)> mapped;
        lock (_lock)
        {
            tls = [.. _tls];
            mapped = [.. _mapped];
        }

        StemeDbSyncTlsOptions tlsOptions = options.Tls;
        if ((tlsOptions.ClientCaFile is not null || tlsOptions.AllowedPeers.Count > 0) && tls.Count == 0)
        {
            return $"{tlsPrefix}{nameof(StemeDbSyncTlsOptions.ClientCaFile)} and {tlsPrefix}{nameof(StemeDbSyncTlsOptions.AllowedPeers)} are checked only on " +
                "an endpoint that serves UseStemeDbSyncTls(), and no endpoint does: callers would not be asked for a certificate. Call " +
                "listenOptions.UseStemeDbSyncTls() on the Kestrel endpoint of the sync service, or remove these settings.";
        }

        if (options.AllowUnauthenticatedCallers || options.TokenFile is not null || authorizerRegistered)
        {
            _checked = true;
            return null;
        }

        var exposed = new List<string>();
        foreach ((Func<IEnumerable<string>> addresses, int[] ports) in mapped)
        {
            foreach (string address in addresses())
            {
                if (!TryParse(address, out string host, out int port) || IsLoopback(host))
                {
                    continue;
                }

                if (ports.Length > 0 && Array.IndexOf(ports, port) < 0)
                {
                    continue; // the sync service is not served on this port
                }

                if (!AuthenticatedByTls(tls, host, port) && !exposed.Contains(address))
                {
                    exposed.Add(address);
                }
            }
        }

        if (exposed.Count > 0)
        {
            return $"The sync service is served beyond loopback on {string.Join(", ", exposed)} to callers it does not authenticate: anyone who can " +
                "reach it could read every assertion and push new ones. Set " +
                $"{prefix}{nameof(StemeDbSyncOptions.TokenFile)}, register an ISyncCallAuthorizer, or serve the endpoint with UseStemeDbSyncTls() and " +
                $"{tlsPrefix}{nameof(StemeDbSyncTlsOptions.ClientCaFile)} with {tlsPrefix}{nameof(StemeDbSyncTlsOptions.AllowedPeers)}; if the host " +
                "authenticates callers another way (RequireAuthorization() on the endpoint, a TLS terminator), set " +
                $"{prefix}{nameof(StemeDbSyncOptions.AllowUnauthenticatedCallers)} to true.";
        }

        _checked = true;
        return null;
    }

    /// <summary>Whether a host of a server address is this machine only: <c>localhost</c>, a loopback IP, a Unix socket or a named pipe.</summary>
    public static bool IsLoopback(string host) =>
        string.Equals(host, "unix", StringComparison.OrdinalIgnoreCase)
        || string.Equals(host, "pipe", StringComparison.OrdinalIgnoreCase)
        || SecretFiles.IsLoopback(host);

    /// <summary>The host and port of a server address such as <c>https://[::]:5000</c>; <c>*</c> and <c>+</c> stand for every address.</summary>
    private static bool TryParse(string address, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        int scheme = address.IndexOf("://", StringComparison.Ordinal);
        string rest = scheme >= 0 ? address[(scheme + 3)..] : address;
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
        {
            host = rest[..4];
            return true;
        }

        string authority = slash >= 0 ? rest[..slash] : rest;
        int colon = authority.LastIndexOf(':');
        if (colon <= 0 || authority.EndsWith(']') || !int.TryParse(authority[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            // No port: the scheme's default. The host is what it is; without one, the address cannot be judged and counts as exposed.
            host = authority.Length > 0 ? authority : "*";
            port = address.StartsWith("https", StringComparison.OrdinalIgnoreCase) ? 443 : 80;
            return true;
        }

        host = authority[..colon];
        return true;
    }

    private static bool AuthenticatedByTls(List<(Func<EndPoint?> EndPoint, bool Authenticates)> tls, string host, int port)
    {
        IPAddress? address = IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? parsed) ? parsed : null;
        bool matched = false;
        foreach ((Func<EndPoint?> endPoint, bool authenticates) in tls)
        {
            if (endPoint() is not IPEndPoint bound || bound.Port != port)
            {
                continue;
            }

            if (address is null || bound.Address.Equals(address) || IsAny(bound.Address) || IsAny(address))
            {
                if (!authenticates)
                {
                    return false;
                }

                matched = true;
            }
        }

        return matched;

        static bool IsAny(IPAddress ip) => ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any);
    }
}

using System;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>The syntax of a DNS peer entry (<see cref="StemeDbSyncOptions.PeerDns"/>, <c>serve --peer-dns</c>).</summary>
internal static class PeerDnsEntry
{
    /// <summary>Parses a DNS peer entry: <c>NAME:PORT</c>, optionally with an http:// or https:// scheme.</summary>
    public static bool TryParse(string? text, out string? scheme, out string? host, out int port, out string? problem)
    {
        scheme = null;
        host = null;
        port = 0;
        string entry = text?.Trim() ?? string.Empty;
        foreach (string prefix in new[] { Uri.UriSchemeHttps, Uri.UriSchemeHttp })
        {
            if (entry.StartsWith(prefix + "://", StringComparison.OrdinalIgnoreCase))
            {
                scheme = prefix;
                entry = entry[(prefix.Length + 3)..];
                break;
            }
        }

        int colon = entry.LastIndexOf(':');
        if (colon <= 0
            || !int.TryParse(entry.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            || port is < 1 or > 65535
            || Uri.CheckHostName(entry[..colon]) != UriHostNameType.Dns)
        {
            port = 0;
            scheme = null;
            problem = $"'{text}' is not NAME:PORT (a DNS name and a port from 1 to 65535, such as stemedb.default.svc.cluster.local:5000).";
            return false;
        }

        host = entry[..colon];
        problem = null;
        return true;
    }
}

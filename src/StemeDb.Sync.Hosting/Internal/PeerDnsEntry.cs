using System;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>The syntax of a DNS peer entry (<see cref="StemeDbSyncOptions.PeerDns"/>, <c>serve --peer-dns</c>).</summary>
internal static class PeerDnsEntry
{
    /// <summary>
    /// Parses a DNS peer entry, optionally with an http:// or https:// scheme: <c>NAME:PORT</c> names A/AAAA records, a
    /// <c>NAME</c> without a port names SRV records (<paramref name="port"/> is then 0), such as
    /// <c>_grpc._tcp.stemedb.default.svc.cluster.local</c>.
    /// </summary>
    public static bool TryParse(string? text, out string? scheme, out string? host, out int port, out string? problem)
    {
        scheme = null;
        host = null;
        port = 0;
        string entry = text?.Trim() ?? string.Empty;
        string? prefix = null;
        foreach (string candidate in new[] { Uri.UriSchemeHttps, Uri.UriSchemeHttp })
        {
            if (entry.StartsWith(candidate + "://", StringComparison.OrdinalIgnoreCase))
            {
                prefix = candidate;
                entry = entry[(candidate.Length + 3)..];
                break;
            }
        }

        int colon = entry.LastIndexOf(':');
        if (colon < 0)
        {
            // No port: the name of SRV records, which give the ports.
            if (!IsServiceName(entry))
            {
                problem = $"'{text}' is neither NAME:PORT (A/AAAA records, such as stemedb.default.svc.cluster.local:5000) nor the NAME of SRV records (DNS labels of letters, digits, '-' and '_', such as _grpc._tcp.stemedb.default.svc.cluster.local).";
                return false;
            }

            scheme = prefix;
            host = entry.TrimEnd('.');
            problem = null;
            return true;
        }

        if (colon == 0
            || !int.TryParse(entry.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            || port is < 1 or > 65535
            || Uri.CheckHostName(entry[..colon]) != UriHostNameType.Dns)
        {
            port = 0;
            problem = $"'{text}' is not NAME:PORT (a DNS name and a port from 1 to 65535, such as stemedb.default.svc.cluster.local:5000), nor a NAME without a port for SRV records.";
            return false;
        }

        scheme = prefix;
        host = entry[..colon];
        problem = null;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="name"/> is a DNS name an SRV lookup can ask for: dot-separated labels of 1 to 63 ASCII
    /// letters, digits, '-' and '_' (service and protocol labels start with '_'), at most 253 characters, at least two
    /// labels, optionally ending with a dot; not an IP address.
    /// </summary>
    public static bool IsServiceName(string name)
    {
        string trimmed = name.EndsWith('.') ? name[..^1] : name;
        if (trimmed.Length is 0 or > 253 || System.Net.IPAddress.TryParse(trimmed, out _))
        {
            return false;
        }

        string[] labels = trimmed.Split('.');
        if (labels.Length < 2)
        {
            return false;
        }

        foreach (string label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                {
                    return false;
                }
            }
        }

        return true;
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>Checks <see cref="StemeDbSyncOptions"/> (the peer list) at start-up and reports every problem, each naming its setting.</summary>
internal sealed class StemeDbSyncOptionsValidator : IValidateOptions<StemeDbSyncOptions>
{
    public ValidateOptionsResult Validate(string? name, StemeDbSyncOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        string prefix = StemeDbSyncOptions.SectionName + ":";

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < options.Peers.Count; i++)
        {
            string? peer = options.Peers[i];
            string setting = $"{prefix}{nameof(StemeDbSyncOptions.Peers)}[{i}]";
            if (!TryParsePeer(peer, out Uri? uri, out string? problem))
            {
                failures.Add($"{setting}: {problem}");
            }
            else if (!seen.Add(uri!.GetLeftPart(UriPartial.Path).TrimEnd('/')))
            {
                failures.Add($"{setting}: '{peer}' is listed more than once.");
            }
        }

        for (int i = 0; i < options.PeerDns.Count; i++)
        {
            if (!PeerDnsEntry.TryParse(options.PeerDns[i], out _, out _, out _, out string? problem))
            {
                failures.Add($"{prefix}{nameof(StemeDbSyncOptions.PeerDns)}[{i}]: {problem}");
            }
        }

        if (options.PeerDnsInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{prefix}{nameof(StemeDbSyncOptions.PeerDnsInterval)}: must be at least 1 second; got {options.PeerDnsInterval}.");
        }

        if (options.PeerDnsMaxPeers is < 1 or > 4096)
        {
            failures.Add($"{prefix}{nameof(StemeDbSyncOptions.PeerDnsMaxPeers)}: must be from 1 to 4096; got {options.PeerDnsMaxPeers}.");
        }

        if (options.TokenFile is { } tokenFile)
        {
            Check(failures, prefix + nameof(StemeDbSyncOptions.TokenFile), () => SecretFiles.ReadToken(tokenFile));
        }

        StemeDbSyncTlsOptions tls = options.Tls;
        string tlsPrefix = prefix + nameof(StemeDbSyncOptions.Tls) + ":";
        if ((tls.CertificateFile is null) != (tls.KeyFile is null))
        {
            failures.Add($"{tlsPrefix}{nameof(StemeDbSyncTlsOptions.CertificateFile)} and {nameof(StemeDbSyncTlsOptions.KeyFile)} go together: give both, or neither.");
        }
        else if (tls.CertificateFile is { } certificateFile)
        {
            Check(failures, tlsPrefix + nameof(StemeDbSyncTlsOptions.CertificateFile), () => TlsFiles.LoadCertificate(certificateFile, tls.KeyFile!).Dispose());
        }

        if (tls.ClientCaFile is { } clientCa)
        {
            Check(failures, tlsPrefix + nameof(StemeDbSyncTlsOptions.ClientCaFile), () => TlsFiles.LoadCa(clientCa));
        }

        if (tls.PeerCaFile is { } peerCa)
        {
            Check(failures, tlsPrefix + nameof(StemeDbSyncTlsOptions.PeerCaFile), () => TlsFiles.LoadCa(peerCa));
        }

        if (tls.AllowedPeers.Count > 0 && tls.ClientCaFile is null)
        {
            failures.Add($"{tlsPrefix}{nameof(StemeDbSyncTlsOptions.AllowedPeers)} needs {nameof(StemeDbSyncTlsOptions.ClientCaFile)}: without client certificates there is no peer name to check.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string setting, Action load)
    {
        try
        {
            load();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            failures.Add($"{setting}: {ex.Message}");
        }
    }

    /// <summary>Parses a peer address: absolute http or https, with a host and no query or fragment.</summary>
    public static bool TryParsePeer(string? text, out Uri? uri, out string? problem)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "the address is empty.";
            return false;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? parsed)
            || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(parsed.Host))
        {
            problem = $"'{text}' is not an absolute http:// or https:// address such as http://127.0.0.1:5000.";
            return false;
        }

        if (!string.IsNullOrEmpty(parsed.Query) || !string.IsNullOrEmpty(parsed.Fragment))
        {
            problem = $"'{text}' has a query or fragment; a peer address is scheme, host, port (and optional path base) only.";
            return false;
        }

        uri = parsed;
        problem = null;
        return true;
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// A PEM certificate with its key, or a PEM bundle of CA certificates, read again when its files change: every read of
/// <see cref="Current"/> compares the files' last-write times and sizes (a cheap check, made once per TLS handshake)
/// and loads them again when they differ. A file caught half-written fails to load; the previous certificate is kept
/// and the load is tried again at the next read.
/// </summary>
internal sealed class ReloadingPem<T>
    where T : class
{
    private readonly string[] _files;
    private readonly Func<T> _load;
    private readonly object _lock = new();
    private (DateTime, long)[] _stamps;
    private T _current;

    public ReloadingPem(Func<T> load, params string[] files)
    {
        _files = files;
        _load = load;
        _stamps = Stamps();
        _current = load(); // a file that cannot be read at start is the host's error, and surfaces now
    }

    public T Current
    {
        get
        {
            (DateTime, long)[] stamps = Stamps();
            lock (_lock)
            {
                if (!Same(stamps, _stamps))
                {
                    try
                    {
                        _current = _load();
                        _stamps = stamps;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
                    {
                        // Half-written or replaced in two steps: keep serving the previous one, look again next time.
                    }
                }

                return _current;
            }
        }
    }

    private (DateTime, long)[] Stamps()
    {
        var stamps = new (DateTime, long)[_files.Length];
        for (int i = 0; i < _files.Length; i++)
        {
            var info = new FileInfo(_files[i]);
            stamps[i] = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }

        return stamps;
    }

    private static bool Same((DateTime, long)[] a, (DateTime, long)[] b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Loading and checking the PEM files of <see cref="StemeDbSyncTlsOptions"/>.</summary>
internal static class TlsFiles
{
    /// <summary>The certificate with its private key, usable by the TLS stack on every platform.</summary>
    public static X509Certificate2 LoadCertificate(string certificateFile, string keyFile)
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>The certificates of a PEM bundle; at least one.</summary>
    public static X509Certificate2Collection LoadCa(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        return roots.Count > 0 ? roots : throw new CryptographicException($"'{path}' holds no certificate.");
    }

    /// <summary>A certificate that follows its files.</summary>
    public static ReloadingPem<X509Certificate2> Certificate(string certificateFile, string keyFile) =>
        new(() => LoadCertificate(certificateFile, keyFile), certificateFile, keyFile);

    /// <summary>A CA bundle that follows its file.</summary>
    public static ReloadingPem<X509Certificate2Collection> Ca(string path) => new(() => LoadCa(path), path);

    /// <summary>The extended key usage of a TLS server certificate (id-kp-serverAuth).</summary>
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>The extended key usage of a TLS client certificate (id-kp-clientAuth).</summary>
    public const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    /// <summary>
    /// The policy of every chain a node builds, its TLS stack's included: nothing is fetched from the network (no
    /// authority information access, CRL or OCSP downloads, so a peer's certificate cannot make the node call an address
    /// before it is authenticated), revocation is not checked (it is done by rotating the CA or the allowed names), and
    /// with <paramref name="roots"/> they are the whole trust store. Intermediates come only from what the peer sent
    /// (added to <see cref="X509ChainPolicy.ExtraStore"/>). A new instance on every call: the TLS stack adds the peer's
    /// certificates to it.
    /// </summary>
    /// <param name="roots">The CAs to trust; the system's trust when <see langword="null"/>.</param>
    /// <param name="usage">The extended key usage every certificate of the chain must allow (when it has the extension).</param>
    public static X509ChainPolicy ChainPolicy(X509Certificate2Collection? roots, string usage)
    {
        var policy = new X509ChainPolicy
        {
            DisableCertificateDownloads = true,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.ApplicationPolicy.Add(new Oid(usage, null));
        if (roots is not null)
        {
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(roots);
        }

        return policy;
    }

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and only to them) for
    /// <paramref name="usage"/>, through the intermediates the peer sent (<paramref name="presented"/>) and nothing else;
    /// see <see cref="ChainPolicy"/>.
    /// </summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots, X509Certificate2Collection? presented, string usage)
    {
        using var chain = new X509Chain { ChainPolicy = ChainPolicy(roots, usage) };
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented);
        }

        return chain.Build(certificate);
    }

    /// <summary>
    /// Whether a caller's client certificate may call the node: it carries the clientAuth extended key usage (the
    /// extension must be there: a certificate without it is not taken for a client certificate), chains to
    /// <paramref name="roots"/> through what the caller sent, and names an allowed peer (<see cref="IsAllowed"/>).
    /// </summary>
    /// <param name="certificate">The caller's certificate.</param>
    /// <param name="presented">The certificates the caller sent in the handshake (the TLS stack's chain's extra store).</param>
    /// <param name="roots">The client CA.</param>
    /// <param name="allowed">The allowed peer names; any when empty.</param>
    public static bool IsAllowedClient(X509Certificate2 certificate, X509Certificate2Collection? presented, X509Certificate2Collection roots, IList<string> allowed) =>
        ClientRefusal(certificate, presented, roots, allowed) is null;

    /// <summary>
    /// Why a caller's client certificate is refused: the first check of <see cref="IsAllowedClient"/> it fails (or that
    /// it sent none), as a short kind and a sentence for the log; <see langword="null"/> when it passes them all. The
    /// sentence names the certificate's subject and the chain's status, nothing secret.
    /// </summary>
    public static (string Kind, string Reason)? ClientRefusal(X509Certificate2? certificate, X509Certificate2Collection? presented, X509Certificate2Collection roots, IList<string> allowed)
    {
        if (certificate is null)
        {
            return ("missing", "it sent no client certificate");
        }

        if (!HasUsage(certificate, ClientAuthentication, whenAbsent: false))
        {
            return ("usage", $"its certificate ({certificate.Subject}) does not list the clientAuth extended key usage");
        }

        using var chain = new X509Chain { ChainPolicy = ChainPolicy(roots, ClientAuthentication) };
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented);
        }

        if (!chain.Build(certificate))
        {
            var statuses = new SortedSet<string>(StringComparer.Ordinal);
            foreach (X509ChainStatus status in chain.ChainStatus)
            {
                statuses.Add(status.Status.ToString());
            }

            return ("untrusted", $"its certificate ({certificate.Subject}) does not chain to the client CA ({string.Join(", ", statuses)})");
        }

        return IsAllowed(certificate, allowed)
            ? null
            : ("not-allowed", $"its certificate ({certificate.Subject}) names no allowed peer");
    }

    /// <summary>
    /// Whether a peer's server certificate is acceptable for this node's calls: when it has an extended key usage
    /// extension, it lists serverAuth (a certificate without the extension is valid for any usage, as TLS clients
    /// generally take it), and it chains to <paramref name="roots"/> through what the peer sent.
    /// </summary>
    public static bool IsAcceptedServer(X509Certificate2 certificate, X509Certificate2Collection? presented, X509Certificate2Collection roots) =>
        HasUsage(certificate, ServerAuthentication, whenAbsent: true)
        && ChainsTo(certificate, roots, presented, ServerAuthentication);

    /// <summary>Whether the certificate's extended key usage extension lists <paramref name="usage"/>; <paramref name="whenAbsent"/> without the extension.</summary>
    public static bool HasUsage(X509Certificate2 certificate, string usage, bool whenAbsent)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension eku)
            {
                foreach (Oid oid in eku.EnhancedKeyUsages)
                {
                    if (oid.Value == usage)
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        return whenAbsent;
    }

    /// <summary>
    /// Whether the certificate names one of <paramref name="allowed"/> (any name when none is listed). A certificate
    /// with a subject alternative name extension is matched on its DNS names and IP addresses only; its common name
    /// counts only when it has no such extension (as in RFC 6125, so that a CA that puts a free-form common name next to
    /// the names it checked cannot make a caller pass for another).
    /// </summary>
    public static bool IsAllowed(X509Certificate2 certificate, IList<string> allowed)
    {
        if (allowed.Count == 0)
        {
            return true;
        }

        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (string dns in san.EnumerateDnsNames())
                {
                    if (Contains(allowed, dns))
                    {
                        return true;
                    }
                }

                foreach (System.Net.IPAddress ip in san.EnumerateIPAddresses())
                {
                    foreach (string candidate in allowed)
                    {
                        if (System.Net.IPAddress.TryParse(candidate, out System.Net.IPAddress? allowedIp) && allowedIp.Equals(ip))
                        {
                            return true;
                        }
                    }
                }

                return false;
            }
        }

        return Contains(allowed, certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false));

        static bool Contains(IList<string> names, string name)
        {
            foreach (string candidate in names)
            {
                if (string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// The HTTP handler of calls to peers: it presents the node's certificate (as it is on disk at each new connection)
    /// when the options name one, and accepts a peer's server certificate that names the dialled host and chains to the
    /// peer CA (or, without one, that the system trusts), with serverAuth among its extended key usages when it lists
    /// any. No chain built for it fetches anything from the network (<see cref="ChainPolicy"/>).
    /// </summary>
    /// <param name="tls">The node's TLS files.</param>
    /// <param name="targetHost">The name the peer's certificate must carry when it is not the dialled host (a peer found
    /// by a DNS name and dialled by address); the dialled host when <see langword="null"/>.</param>
    public static HttpMessageHandler CreatePeerHandler(StemeDbSyncTlsOptions tls, string? targetHost = null)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (targetHost is not null)
        {
            handler.SslOptions.TargetHost = targetHost;
        }

        // The TLS stack builds the peer's chain with this policy (a copy per connection): no downloads, even with the
        // system's trust.
        handler.SslOptions.CertificateRevocationCheckMode = X509RevocationMode.NoCheck;
        handler.SslOptions.CertificateChainPolicy = ChainPolicy(null, ServerAuthentication);

        if (tls.CertificateFile is { } certificateFile && tls.KeyFile is { } keyFile)
        {
            ReloadingPem<X509Certificate2> certificate = Certificate(certificateFile, keyFile);
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate.Current;
        }

        if (tls.PeerCaFile is { } peerCa)
        {
            ReloadingPem<X509Certificate2Collection> roots = Ca(peerCa);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) // the name must match
                {
                    return false;
                }

                using X509Certificate2 server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return IsAcceptedServer(server, chain?.ChainPolicy.ExtraStore, roots.Current);
            };
        }

        return handler;
    }
}

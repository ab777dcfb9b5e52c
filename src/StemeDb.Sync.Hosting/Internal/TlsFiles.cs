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

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and only to them).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>Whether the certificate names one of <paramref name="allowed"/> in a DNS SAN or its CN (any name when none is listed).</summary>
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
    /// The HTTP handler of calls to peers, or <see langword="null"/> when the options set neither a certificate nor a
    /// peer CA: it presents the node's certificate (as it is on disk at each new connection), and accepts a peer's
    /// server certificate that names the dialled host and chains to the peer CA (or, without one, that the system trusts).
    /// </summary>
    /// <param name="tls">The node's TLS files.</param>
    /// <param name="targetHost">The name the peer's certificate must carry when it is not the dialled host (a peer found
    /// by a DNS name and dialled by address); the dialled host when <see langword="null"/>.</param>
    public static HttpMessageHandler? CreatePeerHandler(StemeDbSyncTlsOptions tls, string? targetHost = null)
    {
        if (tls.CertificateFile is null && tls.PeerCaFile is null)
        {
            return null;
        }

        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (targetHost is not null)
        {
            handler.SslOptions.TargetHost = targetHost;
        }

        if (tls.CertificateFile is { } certificateFile && tls.KeyFile is { } keyFile)
        {
            ReloadingPem<X509Certificate2> certificate = Certificate(certificateFile, keyFile);
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate.Current;
        }

        if (tls.PeerCaFile is { } peerCa)
        {
            ReloadingPem<X509Certificate2Collection> roots = Ca(peerCa);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None // the name must match
                && ChainsTo(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), roots.Current);
        }

        return handler;
    }
}

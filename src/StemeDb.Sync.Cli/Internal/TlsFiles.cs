using System;
using System.IO;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// The PEM files of a node's TLS: its certificate and key (served, and presented to peers as the client certificate),
/// the CA that callers' client certificates must chain to (mutual TLS), and the CA that peers' server certificates must
/// chain to.
/// </summary>
internal sealed class TlsFiles
{
    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    public string? ClientCaFile { get; init; }

    public string? PeerCaFile { get; init; }

    /// <summary>With mutual TLS: the names (DNS SAN or CN) a client certificate must carry one of; any when empty.</summary>
    public System.Collections.Generic.IReadOnlyList<string> AllowedPeers { get; init; } = [];

    public bool HasCertificate => CertificateFile is not null;

    /// <summary>Checks that the certificate and its key come together; throws a usage error otherwise.</summary>
    public TlsFiles Validate()
    {
        if ((CertificateFile is null) != (KeyFile is null))
        {
            throw new CliException(ExitCodes.Usage, "--tls-cert and --tls-key go together: give both, or neither.");
        }

        return this;
    }

    /// <summary>The certificate with its private key, usable by the TLS stack.</summary>
    public X509Certificate2 LoadCertificate()
    {
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(CertificateFile!, KeyFile);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CliException(ExitCodes.Usage, $"--tls-cert/--tls-key: cannot load '{CertificateFile}' with '{KeyFile}': {ex.Message}", ex);
        }
    }

    public static X509Certificate2Collection LoadCa(string path, string option)
    {
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(path);
            return roots.Count > 0 ? roots : throw new CliException(ExitCodes.Usage, $"{option}: '{path}' holds no certificate.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CliException(ExitCodes.Usage, $"{option}: cannot load '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>Whether the certificate names one of <paramref name="allowed"/> in a DNS SAN or its CN (any name when none is listed).</summary>
    public static bool IsAllowed(X509Certificate2 certificate, System.Collections.Generic.IReadOnlyList<string> allowed)
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

        static bool Contains(System.Collections.Generic.IReadOnlyList<string> names, string name)
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

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and only to them).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>
    /// The HTTP handler of calls to peers: presents this node's certificate when there is one, and accepts a peer's
    /// server certificate that chains to the peer CA (or, without one, that the system trusts).
    /// </summary>
    public HttpMessageHandler? CreatePeerHandler()
    {
        if (CertificateFile is null && PeerCaFile is null)
        {
            return null;
        }

        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (HasCertificate)
        {
            handler.SslOptions.ClientCertificates = new X509CertificateCollection { LoadCertificate() };
        }

        if (PeerCaFile is { } peerCa)
        {
            X509Certificate2Collection roots = LoadCa(peerCa, "--peer-ca");
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None // the name must match
                && ChainsTo(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), roots);
        }

        return handler;
    }
}

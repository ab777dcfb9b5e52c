using System;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace StemeDb.Sync.Tests.Support;

/// <summary>
/// Certificates made in the test, as PEM files in a directory of their own (no private key is checked in): a
/// certificate authority, and certificates it issues for 127.0.0.1 and localhost, usable as server and client certificates.
/// </summary>
internal sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Directory = Path.Combine(Path.GetTempPath(), "stemedb-pki-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    /// <summary>Writes a file into the directory; returns its path.</summary>
    public string Write(string name, string pem)
    {
        // Owner-only, as a deployment keeps its keys and tokens: a node warns about secrets others can read.
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, pem);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    /// <summary>Issues a certificate named <paramref name="name"/> (CN and DNS SAN) and writes it and its key as <c>name.pem</c> and <c>name.key</c>.</summary>
    public (string Certificate, string Key) Issue(TestAuthority authority, string name, string? caIssuersUrl = null)
    {
        using X509Certificate2 issued = Create(authority, name, caIssuersUrl: caIssuersUrl);
        using ECDsa key = issued.GetECDsaPrivateKey()!;
        return (Write(name + ".pem", issued.ExportCertificatePem()), Write(name + ".key", key.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>
    /// A certificate with its private key, issued by <paramref name="authority"/>: CN <paramref name="name"/>, with
    /// <paramref name="usages"/> as its extended key usages (serverAuth and clientAuth by default; no extension when
    /// <see langword="null"/>), a SAN extension of 127.0.0.1, localhost and <paramref name="name"/> unless
    /// <paramref name="sanDnsNames"/> lists others (no extension when empty), and an authority information access
    /// extension whose caIssuers is <paramref name="caIssuersUrl"/> when given.
    /// </summary>
    public static X509Certificate2 Create(TestAuthority authority, string name, string[]? usages = null, bool noUsages = false, string[]? sanDnsNames = null, string? caIssuersUrl = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        if (!noUsages)
        {
            var oids = new OidCollection();
            foreach (string usage in usages ?? [ServerAuth, ClientAuth])
            {
                oids.Add(new Oid(usage));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        }

        if (sanDnsNames is not { Length: 0 })
        {
            var san = new SubjectAlternativeNameBuilder();
            if (sanDnsNames is null)
            {
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                san.AddDnsName(name);
            }
            else
            {
                foreach (string dns in sanDnsNames)
                {
                    san.AddDnsName(dns);
                }
            }

            request.CertificateExtensions.Add(san.Build());
        }

        if (caIssuersUrl is not null)
        {
            request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(ocspUris: null, caIssuersUris: [caIssuersUrl]));
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        using X509Certificate2 issued = authority.Sign(request, now.AddMinutes(-5), now.AddDays(1), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>The extended key usage of a TLS server certificate.</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>The extended key usage of a TLS client certificate.</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>
    /// An HTTP handler for a test client: it trusts only servers whose certificate chains to <paramref name="caFile"/>
    /// (and reports the served certificate's common name to <paramref name="served"/>), and presents the client
    /// certificate in <paramref name="certificate"/> and <paramref name="key"/> when given.
    /// </summary>
    public static System.Net.Http.SocketsHttpHandler ClientHandler(string caFile, string? certificate = null, string? key = null, Action<string>? served = null)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        var handler = new System.Net.Http.SocketsHttpHandler();
        if (certificate is not null)
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificate, key);
            // Offline: the client sends its certificate without looking for its issuers on the network, so that a
            // download seen by a test is the server's.
            handler.SslOptions.ClientCertificateContext = System.Net.Security.SslStreamCertificateContext.Create(
                X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null), additionalCertificates: null, offline: true);
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
        {
            if (presented is null)
            {
                return false;
            }

            using X509Certificate2 server = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
            served?.Invoke(server.GetNameInfo(X509NameType.SimpleName, false));
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(server);
        };
        return handler;
    }
}

/// <summary>A self-signed certificate authority for one test, or an intermediate CA issued by another.</summary>
internal sealed class TestAuthority : IDisposable
{
    public TestAuthority(string name, TestAuthority? issuer = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        if (issuer is null)
        {
            Certificate = request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(2));
        }
        else
        {
            // Between its issuer's validity (2 days, which began a moment earlier) and its own leaves' (1 day, which begin later).
            using X509Certificate2 issued = issuer.Sign(request, now.AddMinutes(-8), now.AddHours(36), RandomNumberGenerator.GetBytes(16));
            Certificate = issued.CopyWithPrivateKey(key);
        }
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Signs a request with this authority's key, naming it as the authority key.</summary>
    public X509Certificate2 Sign(CertificateRequest request, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serial)
    {
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        return request.Create(Certificate, notBefore, notAfter, serial);
    }

    public void Dispose() => Certificate.Dispose();
}

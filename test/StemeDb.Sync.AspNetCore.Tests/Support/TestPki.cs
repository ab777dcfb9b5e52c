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
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, pem);
        return path;
    }

    /// <summary>Issues a certificate named <paramref name="name"/> (CN) and writes it and its key as <c>name.pem</c> and <c>name.key</c>.</summary>
    public (string Certificate, string Key) Issue(TestAuthority authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        using X509Certificate2 issued = request.Create(authority.Certificate, now.AddMinutes(-5), now.AddDays(1), serial);
        return (Write(name + ".pem", issued.ExportCertificatePem()), Write(name + ".key", key.ExportPkcs8PrivateKeyPem()));
    }

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
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
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

/// <summary>A self-signed certificate authority for one test.</summary>
internal sealed class TestAuthority : IDisposable
{
    public TestAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        Certificate = request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(2));
    }

    public X509Certificate2 Certificate { get; }

    public void Dispose() => Certificate.Dispose();
}

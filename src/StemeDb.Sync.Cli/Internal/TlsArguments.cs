using System;
using System.IO;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

using StemeDb.Sync.Hosting;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// The TLS arguments of a command: the paths of the PEM files given on the command line (the node's certificate and key,
/// served and presented to peers as the client certificate; the CA that callers' client certificates must chain to, for
/// mutual TLS; the CA that peers' server certificates must chain to) and the peer names allowed. Loading and checking
/// the files is <see cref="TlsFiles"/>'s, as it is for a hosted node.
/// </summary>
internal sealed class TlsArguments
{
    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    public string? ClientCaFile { get; init; }

    public string? PeerCaFile { get; init; }

    /// <summary>With mutual TLS: the names a client certificate must carry one of (a DNS or IP SAN; the CN only without a SAN extension); any when empty.</summary>
    public System.Collections.Generic.IReadOnlyList<string> AllowedPeers { get; init; } = [];

    public bool HasCertificate => CertificateFile is not null;

    /// <summary>Checks that the certificate and its key come together; throws a usage error otherwise.</summary>
    public TlsArguments Validate()
    {
        if ((CertificateFile is null) != (KeyFile is null))
        {
            throw new CliException(ExitCodes.Usage, "--tls-cert and --tls-key go together: give both, or neither.");
        }

        return this;
    }

    /// <summary>
    /// Loads every file given, so that a missing or unreadable one is a usage error naming its option before the node
    /// starts; the node itself reads them again (and again when they change) through its hosting options.
    /// </summary>
    public TlsArguments CheckFiles()
    {
        if (HasCertificate)
        {
            LoadCertificate().Dispose();
        }

        if (ClientCaFile is { } clientCa)
        {
            LoadCa(clientCa, "--client-ca");
        }

        if (PeerCaFile is { } peerCa)
        {
            LoadCa(peerCa, "--peer-ca");
        }

        return this;
    }

    /// <summary>Sets the node's hosting TLS options to these files.</summary>
    public void CopyTo(StemeDbSyncTlsOptions options)
    {
        options.CertificateFile = CertificateFile;
        options.KeyFile = KeyFile;
        options.ClientCaFile = ClientCaFile;
        options.PeerCaFile = PeerCaFile;
        foreach (string peer in AllowedPeers)
        {
            options.AllowedPeers.Add(peer);
        }
    }

    /// <summary>The certificate with its private key, usable by the TLS stack.</summary>
    public X509Certificate2 LoadCertificate()
    {
        try
        {
            return TlsFiles.LoadCertificate(CertificateFile!, KeyFile!);
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
            return TlsFiles.LoadCa(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CliException(ExitCodes.Usage, $"{option}: cannot load '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The HTTP handler of calls to peers: presents this node's certificate when there is one, and accepts a peer's
    /// server certificate that chains to the peer CA (or, without one, that the system trusts), with no download.
    /// </summary>
    public HttpMessageHandler CreatePeerHandler()
    {
        CheckFiles();
        var options = new StemeDbSyncTlsOptions();
        CopyTo(options);
        return TlsFiles.CreatePeerHandler(options);
    }
}

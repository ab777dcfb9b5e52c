using System;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StemeDb.Sync.AspNetCore.Internal;
using StemeDb.Sync.Hosting;
using StemeDb.Sync.Hosting.Internal;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Serves a Kestrel endpoint with the node's TLS settings (<see cref="StemeDbSyncOptions.Tls"/>).</summary>
public static class StemeDbSyncListenOptionsExtensions
{
    /// <summary>
    /// Serves this endpoint over TLS with the node's certificate (<see cref="StemeDbSyncTlsOptions.CertificateFile"/>
    /// and <see cref="StemeDbSyncTlsOptions.KeyFile"/>), read again when its files change so that rotation needs no
    /// restart. With <see cref="StemeDbSyncTlsOptions.ClientCaFile"/> it requires a client certificate that chains to
    /// that CA and carries the clientAuth extended key usage (mutual TLS), and with
    /// <see cref="StemeDbSyncTlsOptions.AllowedPeers"/> one that names an allowed peer; any other caller is refused during
    /// the handshake, before a call runs. No chain is built with a network fetch (authority information access, CRL,
    /// OCSP): the trust store is the client CA alone, and intermediates come only from what the caller sent. A refused
    /// client certificate is logged at Warning (event 12, <c>ClientCertificateRefused</c>, category
    /// <c>StemeDb.Sync.AspNetCore.Tls</c>) with the caller's address and the reason (none sent, no clientAuth usage, a
    /// chain that does not reach the client CA, no allowed name), at most once a minute per address and reason.
    /// </summary>
    /// <remarks>
    /// Beyond loopback, an endpoint with both settings authenticates its callers; without them, a host that serves the
    /// sync service on it does not start unless the node authenticates callers otherwise
    /// (see <see cref="StemeDbSyncOptions.AllowUnauthenticatedCallers"/>).
    /// </remarks>
    /// <example>
    /// <code>
    /// builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(5001, listen => listen.UseStemeDbSyncTls()));
    /// </code>
    /// </example>
    /// <param name="listenOptions">The endpoint.</param>
    /// <returns><paramref name="listenOptions"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="listenOptions"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><c>AddStemeDbSync</c> was not called, or the options name no
    /// certificate.</exception>
    public static ListenOptions UseStemeDbSyncTls(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        StemeDbSyncTlsOptions tls = (listenOptions.ApplicationServices.GetService<IOptions<StemeDbSyncOptions>>()
            ?? throw new InvalidOperationException("UseStemeDbSyncTls needs the node's options: call services.AddStemeDbSync(...) first.")).Value.Tls;
        if (tls.CertificateFile is not { } certificateFile || tls.KeyFile is not { } keyFile)
        {
            throw new InvalidOperationException(
                $"UseStemeDbSyncTls needs {StemeDbSyncOptions.SectionName}:Tls:{nameof(StemeDbSyncTlsOptions.CertificateFile)} and {nameof(StemeDbSyncTlsOptions.KeyFile)}.");
        }

        ReloadingPem<X509Certificate2> certificate = TlsFiles.Certificate(certificateFile, keyFile);
        ReloadingPem<X509Certificate2Collection>? roots = tls.ClientCaFile is { } clientCa ? TlsFiles.Ca(clientCa) : null;
        string[] allowed = [.. tls.AllowedPeers];
        IServiceProvider services = listenOptions.ApplicationServices;
        var refusals = new HandshakeRefusals(
            services.GetService<ILoggerFactory>()?.CreateLogger("StemeDb.Sync.AspNetCore.Tls") ?? NullLogger.Instance,
            services.GetService<TimeProvider>() ?? TimeProvider.System);
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => certificate.Current,

            // The TLS stack builds the caller's chain before the client certificate check below runs: with this policy
            // (a new one per connection, since the stack adds the caller's certificates to it), from the client CA and what
            // the caller sent alone, with no download and no revocation check.
            CheckCertificateRevocation = false,
            OnAuthenticate = (connection, ssl) =>
            {
                ssl.CertificateRevocationCheckMode = X509RevocationMode.NoCheck;
                ssl.CertificateChainPolicy = TlsFiles.ChainPolicy(roots?.Current, TlsFiles.ClientAuthentication);
                if (roots is not null)
                {
                    // Mutual TLS: a client certificate is required, and this check decides, per connection so that a
                    // refusal is logged with the caller's address and the reason (which the caller, refused in the
                    // handshake, never learns). Kestrel's own mode stays NoCertificate: its check would refuse a caller
                    // without a certificate before this one could log it.
                    ssl.ClientCertificateRequired = true;
                    ssl.RemoteCertificateValidationCallback = refusals.Check(connection.RemoteEndPoint, roots, allowed);
                }
            },
        };
        listenOptions.ApplicationServices.GetService<ServedEndpoints>()?.AddTls(
            () => listenOptions.EndPoint, authenticatesCallers: roots is not null && tls.AllowedPeers.Count > 0);
        return listenOptions.UseHttps(https);
    }
}

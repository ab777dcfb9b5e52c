using System.Collections.Generic;

namespace StemeDb.Sync.Hosting;

/// <summary>
/// The node's TLS files (PEM), bound from the <c>StemeDbSync:Tls</c> configuration section. Certificates are read
/// again when their files change, so that rotating them needs no restart (connections already open keep theirs).
/// </summary>
/// <remarks>
/// <para>
/// Outgoing calls to peers (this package): the node presents <see cref="CertificateFile"/> as its client certificate,
/// and accepts a peer's server certificate only when it chains to <see cref="PeerCaFile"/> (when given; otherwise the
/// system's trust applies) and names the host the node dialled.
/// </para>
/// <para>
/// The served endpoint (StemeDb.Sync.AspNetCore, <c>listenOptions.UseStemeDbSyncTls()</c>): the node serves
/// <see cref="CertificateFile"/>; with <see cref="ClientCaFile"/>, callers must present a client certificate that
/// chains to it and carries the clientAuth extended key usage (mutual TLS), and with <see cref="AllowedPeers"/> one that
/// names an allowed peer. Other callers are refused during the handshake, before any call runs.
/// </para>
/// <para>
/// Every chain is built from the configured CA alone, with only the intermediates the peer sent in the handshake: the
/// node fetches nothing from the network for it (no authority information access, CRL or OCSP downloads) and checks no
/// revocation. To revoke a certificate, rotate the CA or remove the name from <see cref="AllowedPeers"/>. A peer's
/// server certificate that lists extended key usages must list serverAuth.
/// </para>
/// </remarks>
/// <example>
/// <code language="json">
/// "StemeDbSync": {
///   "Peers": [ "https://node-b.internal:5001" ],
///   "Tls": {
///     "CertificateFile": "/etc/stemedb/node.crt",
///     "KeyFile": "/etc/stemedb/node.key",
///     "ClientCaFile": "/etc/stemedb/ca.crt",
///     "PeerCaFile": "/etc/stemedb/ca.crt",
///     "AllowedPeers": [ "node-b.internal", "node-c.internal" ]
///   }
/// }
/// </code>
/// </example>
public sealed class StemeDbSyncTlsOptions
{
    /// <summary>The node's certificate (PEM): served, and presented to peers as the client certificate.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The private key of <see cref="CertificateFile"/> (PEM).</summary>
    public string? KeyFile { get; set; }

    /// <summary>The CA (PEM) that callers' client certificates must chain to; no client certificate is asked for when unset.</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>The CA (PEM) that peers' server certificates must chain to; the system's trust when unset.</summary>
    public string? PeerCaFile { get; set; }

    /// <summary>
    /// With <see cref="ClientCaFile"/>: the names a caller's certificate must carry one of; any name of the CA when empty.
    /// A certificate with a subject alternative name extension is matched on its DNS names and IP addresses only (so
    /// list a peer by the DNS name its certificate carries); its common name counts only when it has no such extension.
    /// The same names apply to the peers found by <see cref="StemeDbSyncOptions.PeerDns"/>: their server certificate
    /// must carry one of them as well as the name DNS gave (peers listed in <see cref="StemeDbSyncOptions.Peers"/> are
    /// checked against their configured address only).
    /// </summary>
    public IList<string> AllowedPeers { get; } = new List<string>();
}

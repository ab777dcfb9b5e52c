using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Hosting;

/// <summary>
/// The hosting-specific settings of the node that <c>services.AddStemeDbSync(...)</c> registers: the peers to connect,
/// and the credentials of calls between nodes (a token file, TLS files).
/// The engine settings are <see cref="SyncNodeOptions"/> (their defaults and bounds are defined there, once), bound from
/// the same configuration section by <c>AddStemeDbSync(IConfiguration)</c> and adjusted in code with
/// <see cref="StemeDbSyncBuilder.ConfigureNode"/>. Both are validated when the host starts, with messages that name
/// the setting.
/// </summary>
/// <example>
/// <code language="json">
/// "StemeDbSync": {
///   "NodeId": "0f8fad5bd9cb469fa16570867728950e",
///   "Peers": [ "http://10.0.0.2:5000", "http://10.0.0.3:5000" ],
///   "AntiEntropyInterval": "00:00:30",
///   "GossipFanout": 3,
///   "PeerCallTimeout": "00:00:30"
/// }
/// </code>
/// <c>Peers</c> binds here; every other key binds onto the <see cref="SyncNodeOptions"/> property of the same name.
/// </example>
public sealed class StemeDbSyncOptions
{
    /// <summary>The conventional configuration section name: <c>StemeDbSync</c>.</summary>
    public const string SectionName = "StemeDbSync";

    /// <summary>
    /// The gRPC addresses (<c>http://host:port</c> or <c>https://…</c>) of the peers this node gossips to and reconciles
    /// with. A configuration reload that changes the list adds and removes peers while the node runs.
    /// </summary>
    /// <remarks>
    /// Each peer is a <see cref="Grpc.GrpcSyncPeer"/> without a gRPC deadline of its own: the node's
    /// <see cref="SyncNodeOptions.PeerCallTimeout"/> is the deadline of every call.
    /// </remarks>
    public IList<string> Peers { get; } = new List<string>();

    /// <summary>
    /// DNS names of peers, as <c>NAME:PORT</c> or <c>NAME</c> (either optionally after <c>https://</c> or <c>http://</c>;
    /// the scheme is https when <see cref="Tls"/> names a certificate or a peer CA, http otherwise). <c>NAME:PORT</c>:
    /// every address the name resolves to (A and AAAA records) is a peer on that port, for example the pods of a
    /// Kubernetes headless service. <c>NAME</c> without a port names SRV records (RFC 2782), such as
    /// <c>_grpc._tcp.stemedb.default.svc.cluster.local</c>: the records of the lowest priority are used (higher ones are
    /// backups and are ignored, and so are weights, since every target becomes a peer), and every address of each target
    /// host is a peer on the record's port. SRV records are asked of the nameservers in <c>/etc/resolv.conf</c> (over UDP,
    /// over TCP when the answer is truncated, 5 seconds per nameserver), following its <c>search</c> and <c>ndots</c>
    /// rules; a name ending with a dot is asked as it is. The names are resolved at start, every
    /// <see cref="PeerDnsInterval"/> and when the configuration is reloaded; peers are added and removed as the records
    /// change, and a lookup that fails (or a malformed answer) is logged and names no peer until the next resolution. A
    /// resolved address becomes a peer once it answers a ping with another node's id, so the node's own address is
    /// skipped. With TLS, a peer's certificate must carry the DNS name (for SRV records, the target host name), and when
    /// <see cref="StemeDbSyncTlsOptions.AllowedPeers"/> lists names, one of them too: DNS alone does not choose whom the
    /// node trusts. At most <see cref="PeerDnsMaxPeers"/> peers come from one entry. Over http://, the
    /// <see cref="TokenFile"/> token is sent to loopback addresses only.
    /// </summary>
    public IList<string> PeerDns { get; } = new List<string>();

    /// <summary>How often the <see cref="PeerDns"/> names are resolved again; 30 seconds by default, at least 1 second.</summary>
    public TimeSpan PeerDnsInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most peers one <see cref="PeerDns"/> entry can add: 64 by default, from 1 to 4096. When its records name more
    /// addresses, the first in address order are used (the same ones at every resolution, whatever order the answers come
    /// in) and the others are ignored with a warning, so that whoever controls the DNS answers cannot make the node
    /// open connections to any number of addresses.
    /// </summary>
    public int PeerDnsMaxPeers { get; set; } = 64;

    /// <summary>
    /// A file holding a shared bearer token, for nodes without mutual TLS: callers of this node must send it
    /// (<c>authorization: Bearer …</c>, compared in constant time; others get <c>UNAUTHENTICATED</c>), and the node sends
    /// it to its peers. Read once, when the host starts (a configuration reload does not change it); leading and
    /// trailing white space is ignored, and the token must be at least
    /// <see cref="Grpc.BearerTokenAuthorizer.MinimumTokenBytes"/> (16) bytes. The token is sent to https:// peers and to
    /// http:// peers on this machine (localhost, 127.0.0.0/8, ::1) only: an http:// peer beyond it gets no token, and a
    /// warning is logged once. On Unix, a warning is logged at start when the file can be read by its group or others.
    /// None when unset.
    /// </summary>
    /// <remarks>The check runs before a registered <see cref="ISyncCallAuthorizer"/>, which still applies.</remarks>
    public string? TokenFile { get; set; }

    /// <summary>
    /// Whether the host may serve the sync service beyond loopback to callers the node does not authenticate itself;
    /// <see langword="false"/> by default. Unless it is set, a host that maps the service with <c>MapStemeDbSync</c>
    /// fails to start when the server listens on an address beyond loopback (<c>0.0.0.0</c>, <c>[::]</c>, a LAN
    /// address) on a port the service is mapped on, and the node has none of: a <see cref="TokenFile"/>, a registered
    /// <see cref="ISyncCallAuthorizer"/>, or that endpoint serving <c>UseStemeDbSyncTls()</c> with
    /// <see cref="StemeDbSyncTlsOptions.ClientCaFile"/> and <see cref="StemeDbSyncTlsOptions.AllowedPeers"/>. Set it
    /// (configuration key <c>StemeDbSync:AllowUnauthenticatedCallers</c>) when the host authenticates callers another way:
    /// <c>RequireAuthorization()</c> on the endpoint <c>MapStemeDbSync</c> returns, or a TLS terminator in front of it.
    /// </summary>
    public bool AllowUnauthenticatedCallers { get; set; }

    /// <summary>The node's TLS files (configuration section <c>StemeDbSync:Tls</c>); see <see cref="StemeDbSyncTlsOptions"/>.</summary>
    public StemeDbSyncTlsOptions Tls { get; } = new();
}

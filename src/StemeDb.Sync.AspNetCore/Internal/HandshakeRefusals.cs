using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.AspNetCore.Internal;

/// <summary>
/// The client certificate check of a mutual-TLS endpoint (<see cref="TlsFiles.ClientRefusal"/>), which logs what it
/// refuses (event 12, Warning) with the source address and the reason: no certificate, no clientAuth usage, a chain
/// that does not reach the client CA, or no allowed name. The first refusal of a source and reason is logged, then at
/// most one per minute, which says how many were not logged since; a caller that keeps trying costs one line a minute.
/// The table is bounded: past <see cref="MaxTracked"/> entries it starts over.
/// </summary>
internal sealed class HandshakeRefusals
{
    /// <summary>The most sources (and reasons) remembered at once.</summary>
    public const int MaxTracked = 10_000;

    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Source, string Kind), (long LoggedAt, long Suppressed)> _entries = [];
    private readonly object _lock = new();

    public HandshakeRefusals(ILogger logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
    }

    /// <summary>
    /// The TLS stack's check of one connection's client certificate: accepted when it passes every check of
    /// <see cref="TlsFiles.IsAllowedClient"/> against the client CA as it is on disk now.
    /// </summary>
    /// <param name="remote">The caller's address, for the log.</param>
    /// <param name="roots">The client CA.</param>
    /// <param name="allowed">The allowed peer names; any when empty.</param>
    public RemoteCertificateValidationCallback Check(EndPoint? remote, ReloadingPem<X509Certificate2Collection> roots, IList<string> allowed) =>
        (_, presented, chain, _) =>
        {
            X509Certificate2? copy = presented is null or X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
            try
            {
                X509Certificate2? certificate = presented as X509Certificate2 ?? copy;
                (string Kind, string Reason)? refusal = TlsFiles.ClientRefusal(certificate, chain?.ChainPolicy.ExtraStore, roots.Current, allowed);
                if (refusal is not { } refused)
                {
                    return true;
                }

                string source = remote is IPEndPoint ip ? ip.Address.ToString() : remote?.ToString() ?? "an unknown address";
                if (_logger.IsEnabled(LogLevel.Warning) && ShouldLog(source, refused.Kind, out long suppressed))
                {
                    HostingLog.ClientCertificateRefused(_logger, source, refused.Reason, suppressed);
                }

                return false;
            }
            finally
            {
                copy?.Dispose();
            }
        };

    private bool ShouldLog(string source, string kind, out long suppressed)
    {
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_entries.TryGetValue((source, kind), out var entry) && _time.GetElapsedTime(entry.LoggedAt, now) < Interval)
            {
                _entries[(source, kind)] = (entry.LoggedAt, entry.Suppressed + 1);
                suppressed = 0;
                return false;
            }

            if (_entries.Count >= MaxTracked)
            {
                _entries.Clear();
            }

            suppressed = entry.Suppressed;
            _entries[(source, kind)] = (now, 0);
            return true;
        }
    }
}

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Cli.Internal;
using SecretFiles = StemeDb.Sync.Hosting.Internal.SecretFiles;

namespace StemeDb.Sync.Cli.Commands;

/// <summary><c>serve</c>: a real node on Kestrel until Ctrl-C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var listen = new Option<Uri>("--listen")
        {
            Description = "Address to serve gRPC on: http://IP:PORT (cleartext HTTP/2), or https://IP:PORT with --tls-cert; port 0 picks a free port.",
            HelpName = "url",
            Required = true,
            CustomParser = CommandSupport.ParseAddress,
        };
        var peers = new Option<Uri[]>("--peer")
        {
            Description = "A peer's gRPC address; repeat for several. Peers receive gossip and anti-entropy.",
            HelpName = "url",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result =>
            {
                var parsed = new Uri[result.Tokens.Count];
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                for (int i = 0; i < parsed.Length; i++)
                {
                    if (!CommandSupport.TryParseAddress(result.Tokens[i].Value, out Uri? uri))
                    {
                        result.AddError($"--peer: '{result.Tokens[i].Value}' is not an absolute http:// or https:// address.");
                        return [];
                    }

                    if (!seen.Add(uri!.GetLeftPart(UriPartial.Path).TrimEnd('/')))
                    {
                        result.AddError($"--peer: '{result.Tokens[i].Value}' is given more than once.");
                        return [];
                    }

                    parsed[i] = uri;
                }

                return parsed;
            },
        };
        var data = new Option<string?>("--data")
        {
            Description = "Data directory: keeps assertions in a durable store and the node id. Opens the store it holds (assertions/ for RocksDB, assertions.db for SQLite); a new one is RocksDB unless --store says otherwise. In memory without it.",
            HelpName = "dir",
        };
        var store = new Option<string?>("--store")
        {
            Description = "The store for a new --data directory: rocksdb (default) or sqlite. A directory that holds a store opens as what it holds.",
            HelpName = "rocksdb|sqlite",
        };
        store.AcceptOnlyFromAmong("rocksdb", "sqlite");
        var nodeId = new Option<NodeId?>("--node-id")
        {
            Description = "This node's id (32 hex digits or a UUID). Default: kept in --data, or random.",
            HelpName = "id",
            CustomParser = result =>
            {
                string text = result.Tokens[0].Value;
                if (!NodeId.TryParse(text, out NodeId id) || id == NodeId.Empty)
                {
                    result.AddError($"--node-id: '{text}' is not a non-zero node id (32 hex digits or a UUID).");
                }

                return id;
            },
        };
        var interval = new Option<Seconds>("--anti-entropy-interval")
        {
            Description = "Mean seconds between anti-entropy passes with each peer.",
            HelpName = "seconds",
            DefaultValueFactory = _ => new Seconds(CommandSupport.EngineDefaults.AntiEntropyInterval),
            CustomParser = result => CommandSupport.ParseSeconds(result, "--anti-entropy-interval"),
        };
        Option<Seconds> timeout = CommandSupport.TimeoutOption();
        timeout.Description = "Deadline of each call to a peer, in seconds.";
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log more to standard error: every component at Information, the node's own activity at Debug. Without it the node logs its activity at Information (passes that moved data, catch-up progress, peers failing) and other components log warnings." };
        Option<string?> tokenFile = CommandSupport.TokenFileOption("File holding a shared bearer token (one line): callers of the sync service must send it, and this node sends it to its peers.");
        var insecure = new Option<bool>("--insecure") { Description = "Serve on an address beyond loopback in cleartext, or over TLS to callers not authenticated by --client-ca with --allow-peer or by --token-file (both refused without it)." };
        var tlsCertificate = new Option<string?>("--tls-cert") { Description = "PEM certificate to serve TLS with (on an https:// --listen address) and to present to peers.", HelpName = "file" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert.", HelpName = "file" };
        var clientCa = new Option<string?>("--client-ca") { Description = "PEM CA certificate: callers must present a client certificate that chains to it and carries the clientAuth extended key usage (mutual TLS). No chain is completed or checked for revocation over the network.", HelpName = "file" };
        var allowPeer = new Option<string[]>("--allow-peer")
        {
            Description = "With --client-ca: accept only client certificates that name this peer (a DNS or IP subject alternative name; the CN only in a certificate without SANs); repeat for several.",
            HelpName = "name",
            AllowMultipleArgumentsPerToken = false,
        };
        var peerDns = new Option<string[]>("--peer-dns")
        {
            Description = "A DNS name of peers; repeat for several. NAME:PORT: every address it resolves to (A/AAAA) is a peer. NAME without a port: its SRV records of the lowest priority give the hosts and ports (weights ignored), such as _grpc._tcp.SERVICE.NAMESPACE.svc.cluster.local. Re-resolved every 30 s (a Kubernetes headless service); the node's own address is skipped.",
            HelpName = "name[:port]",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result =>
            {
                var entries = new string[result.Tokens.Count];
                for (int i = 0; i < entries.Length; i++)
                {
                    if (!StemeDb.Sync.Hosting.Internal.PeerDnsEntry.TryParse(result.Tokens[i].Value, out _, out _, out _, out string? problem))
                    {
                        result.AddError("--peer-dns: " + problem);
                        return [];
                    }

                    entries[i] = result.Tokens[i].Value;
                }

                return entries;
            },
        };
        var metricsListen = new Option<Uri?>("--metrics-listen")
        {
            Description = "Serve Prometheus metrics at /metrics and the health check at /healthz over plain HTTP/1.1 on this address: http://IP:PORT (port 0 picks a free port). Anyone who reaches it reads the node's counts and its peers' addresses: keep it on loopback or a private network.",
            HelpName = "url",
            CustomParser = CommandSupport.ParseAddress,
        };
        var otlpEndpoint = new Option<Uri?>("--otlp-endpoint")
        {
            Description = "Export the metrics by OTLP (gRPC) to this collector, such as http://127.0.0.1:4317.",
            HelpName = "url",
            CustomParser = CommandSupport.ParseAddress,
        };
        var peerCa = new Option<string?>("--peer-ca") { Description = "PEM CA certificate that peers' server certificates must chain to.", HelpName = "file" };

        var command = new Command("serve", "Run a node: gRPC sync and health services on Kestrel, with gossip and anti-entropy to its peers. Stops cleanly on Ctrl-C or SIGTERM (exit 0).")
        {
            listen, peers, peerDns, data, store, nodeId, interval, timeout, tokenFile, tlsCertificate, tlsKey, clientCa, allowPeer, peerCa, insecure, metricsListen, otlpEndpoint, verbose,
        };
        command.SetAction((parse, ct) => CommandSupport.RunAsync(console, ct, async token =>
        {
            var settings = new NodeServerSettings
            {
                Listen = parse.GetValue(listen)!,
                Peers = parse.GetValue(peers) ?? [],
                PeerDns = parse.GetValue(peerDns) ?? [],
                DataDirectory = parse.GetValue(data),
                Store = parse.GetValue(store) is { } kind
                    ? (parse.GetValue(data) is null ? throw new CliException(ExitCodes.Usage, "--store needs --data: without it the node keeps its assertions in memory.") : DataStores.Parse(kind))
                    : null,
                NodeId = parse.GetValue(nodeId),
                MinimumLogLevel = parse.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning,
                LibraryLogLevel = parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information,
                MetricsListen = parse.GetValue(metricsListen),
                OtlpEndpoint = parse.GetValue(otlpEndpoint),
                Token = CommandSupport.ReadToken(parse.GetValue(tokenFile)),
                Insecure = parse.GetValue(insecure),
                Tls = new TlsArguments
                {
                    CertificateFile = parse.GetValue(tlsCertificate),
                    KeyFile = parse.GetValue(tlsKey),
                    ClientCaFile = parse.GetValue(clientCa),
                    PeerCaFile = parse.GetValue(peerCa),
                    AllowedPeers = parse.GetValue(allowPeer) ?? [],
                },
                ConfigureNode = options =>
                {
                    options.AntiEntropyInterval = parse.GetValue(interval);
                    options.PeerCallTimeout = parse.GetValue(timeout);
                },
            };

            if (parse.GetValue(tokenFile) is { } tokenPath && SecretFiles.PermissionWarning(tokenPath, "--token-file") is { } warning)
            {
                await console.Error.WriteLineAsync("warning: " + warning).ConfigureAwait(false);
            }

            // Ctrl-C and SIGTERM are the normal way to stop a server: handle them here, from before start-up, so that a
            // signal at any moment leads to a clean stop (the server drains, the node stops, the store closes).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
            using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal);
            using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal);
            void OnStopSignal(PosixSignalContext context)
            {
                context.Cancel = true;
                try
                {
                    stop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // A signal that arrives while the command returns: the server has already stopped.
                }
            }

            NodeServer server;
            try
            {
                server = await NodeServer.StartAsync(settings, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // A stop asked for before the server listened: nothing was served, and the start-up was undone.
                await console.Out.WriteLineAsync("stopped during start-up").ConfigureAwait(false);
                return ExitCodes.Success;
            }

            await using (server.ConfigureAwait(false))
            {
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"listening on {server.Address.GetLeftPart(UriPartial.Authority)}")).ConfigureAwait(false);
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"node {server.Node.NodeId}, store {server.StoreDescription}, {server.Node.Count} assertions, root {server.Node.Root}")).ConfigureAwait(false);
                if (server.Metrics is { } metricsUrl)
                {
                    await console.Out.WriteLineAsync("metrics on " + metricsUrl).ConfigureAwait(false);
                }

                if (settings.Peers.Count > 0)
                {
                    await console.Out.WriteLineAsync("peers " + string.Join(", ", settings.Peers.Select(p => p.GetLeftPart(UriPartial.Authority)))).ConfigureAwait(false);
                }

                await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // Stopped by a signal or by the caller.
                }

                await console.Out.WriteLineAsync("stopping").ConfigureAwait(false);
            }

            await console.Out.WriteLineAsync("stopped").ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}

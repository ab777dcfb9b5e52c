using System;
using System.CommandLine;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// The options of every command that calls a node directly: <c>--timeout</c>, <c>--token-file</c>, and for a node
/// served over TLS <c>--peer-ca</c> (the CA its certificate chains to) and <c>--tls-cert</c>/<c>--tls-key</c> (the
/// client certificate a node with mutual TLS requires).
/// </summary>
internal sealed class ConnectionOptions
{
    public Option<Seconds> Timeout { get; } = CommandSupport.TimeoutOption();

    public Option<string?> TokenFile { get; } = CommandSupport.TokenFileOption("File holding the bearer token to send (one line), for a node started with --token-file.");

    public Option<string?> TlsCertificate { get; } = new("--tls-cert")
    {
        Description = "PEM certificate to present as the client certificate (with --tls-key), for a node that requires one.",
        HelpName = "file",
    };

    public Option<string?> TlsKey { get; } = new("--tls-key") { Description = "PEM private key of --tls-cert.", HelpName = "file" };

    public Option<string?> PeerCa { get; } = new("--peer-ca")
    {
        Description = "PEM CA certificate that the node's server certificate must chain to (https:// addresses).",
        HelpName = "file",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Timeout);
        command.Options.Add(TokenFile);
        command.Options.Add(TlsCertificate);
        command.Options.Add(TlsKey);
        command.Options.Add(PeerCa);
    }

    /// <summary>
    /// A peer called directly, without a node: the gRPC deadline is the only deadline of its calls. With
    /// <c>--token-file</c>, the address must be https:// or loopback (a usage error otherwise).
    /// </summary>
    public GrpcSyncPeer CreatePeer(ParseResult parse, Uri address)
    {
        string? token = CommandSupport.ReadToken(parse.GetValue(TokenFile));
        if (token is not null)
        {
            CommandSupport.CheckTokenTransport(address);
        }

        GrpcSyncPeerOptions options = CommandSupport.PeerOptions(token, parse.GetValue(Timeout));
        options.HttpHandler = new TlsArguments
        {
            CertificateFile = parse.GetValue(TlsCertificate),
            KeyFile = parse.GetValue(TlsKey),
            PeerCaFile = parse.GetValue(PeerCa),
        }.Validate().CreatePeerHandler();
        return GrpcSyncPeer.Create(address, options);
    }
}

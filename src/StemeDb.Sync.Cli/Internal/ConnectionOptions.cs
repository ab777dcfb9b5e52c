using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// The options of every command that calls a node directly: <c>--timeout</c>, <c>--token-file</c>, <c>--header</c> and
/// <c>--header-file</c> (credentials a host's own authorizer requires, an API key say), and for a node served over TLS
/// <c>--peer-ca</c> (the CA its certificate chains to) and <c>--tls-cert</c>/<c>--tls-key</c> (the client certificate a
/// node with mutual TLS requires).
/// </summary>
internal sealed class ConnectionOptions
{
    public Option<Seconds> Timeout { get; } = CommandSupport.TimeoutOption();

    public Option<string?> TokenFile { get; } = CommandSupport.TokenFileOption("File holding the bearer token to send (one line), for a node started with --token-file.");

    public Option<string[]> Header { get; } = new("--header")
    {
        Description = "A header to send with every call, as NAME=VALUE (repeatable). For a secret, use --header-file: a value on the command line is visible to other users of this machine.",
        HelpName = "name=value",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> HeaderFile { get; } = new("--header-file")
    {
        Description = "A header to send with every call, as NAME=FILE: the value is the file's one line (repeatable). Sent only over https:// or to a loopback address.",
        HelpName = "name=file",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

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

    /// <summary>The node this command called last (the one a failure is about, since the commands call one at a time).</summary>
    private Uri? _calling;

    public void AddTo(Command command)
    {
        command.Options.Add(Timeout);
        command.Options.Add(TokenFile);
        command.Options.Add(Header);
        command.Options.Add(HeaderFile);
        command.Options.Add(TlsCertificate);
        command.Options.Add(TlsKey);
        command.Options.Add(PeerCa);
    }

    /// <summary>
    /// Runs a command body that calls nodes through these options (<see cref="CommandSupport.RunAsync"/>): a call refused
    /// in the TLS handshake is reported by its certificate problem (exit 3).
    /// </summary>
    public Task<int> RunAsync(ParseResult parse, CliConsole console, CancellationToken cancellationToken, Func<CancellationToken, Task<int>> body) =>
        CommandSupport.RunAsync(console, cancellationToken, body, ex => HandshakeFailure.Describe(ex, _calling, parse.GetValue(TlsCertificate)));

    /// <summary>
    /// A peer called directly, without a node: the gRPC deadline is the only deadline of its calls. With
    /// <c>--token-file</c>, the address must be https:// or loopback (a usage error otherwise).
    /// </summary>
    public GrpcSyncPeer CreatePeer(ParseResult parse, Uri address) => CreatePeer(parse, address, parse.GetValue(Timeout));

    /// <summary>
    /// A peer with these options and <paramref name="deadline"/> as its gRPC deadline: <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// for a peer that a node calls, which puts its own deadline on every call.
    /// </summary>
    public GrpcSyncPeer CreatePeer(ParseResult parse, Uri address, TimeSpan deadline)
    {
        _calling = address;
        string? token = CommandSupport.ReadToken(parse.GetValue(TokenFile));
        if (token is not null)
        {
            CommandSupport.CheckSecretTransport(address);
        }

        GrpcSyncPeerOptions options = CommandSupport.PeerOptions(token, deadline);
        foreach ((string name, string value) in Headers(parse, address))
        {
            if (options.Headers.ContainsKey(name))
            {
                throw new CliException(ExitCodes.Usage, $"--header: '{name}' is given twice (or also by --token-file).");
            }

            options.Headers[name] = value;
        }

        options.HttpHandler = new TlsArguments
        {
            CertificateFile = parse.GetValue(TlsCertificate),
            KeyFile = parse.GetValue(TlsKey),
            PeerCaFile = parse.GetValue(PeerCa),
        }.Validate().CreatePeerHandler();
        return GrpcSyncPeer.Create(address, options);
    }

    /// <summary>The headers of <c>--header</c> and <c>--header-file</c>, checked; a usage error names the one that is wrong.</summary>
    private List<(string Name, string Value)> Headers(ParseResult parse, Uri address)
    {
        var headers = new List<(string Name, string Value)>();
        foreach (string pair in parse.GetValue(Header) ?? [])
        {
            (string name, string value) = Split("--header", pair);
            headers.Add((name, CheckValue("--header", name, value)));
        }

        foreach (string pair in parse.GetValue(HeaderFile) ?? [])
        {
            (string name, string path) = Split("--header-file", pair);
            CommandSupport.CheckSecretTransport(address, "--header-file", $"'{name}'");

            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Usage, $"--header-file: cannot read '{path}': {ex.Message}", ex);
            }

            headers.Add((name, CheckValue("--header-file", name, text.TrimEnd('\r', '\n'))));
        }

        return headers;
    }

    /// <summary>NAME=VALUE split at the first '=', the name lower-cased and checked as a gRPC metadata key.</summary>
    private static (string Name, string Value) Split(string option, string pair)
    {
        int equals = pair.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new CliException(ExitCodes.Usage, $"{option}: expected NAME=VALUE; got '{pair}'.");
        }

        string name = pair[..equals].Trim().ToLowerInvariant();
        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
            {
                throw new CliException(ExitCodes.Usage, $"{option}: '{name}' is not a header name (letters, digits, '-', '_' and '.' only).");
            }
        }

        if (name.StartsWith("grpc-", StringComparison.Ordinal) || name.EndsWith("-bin", StringComparison.Ordinal)
            || name is "content-type" or "te" or "user-agent" or "host")
        {
            throw new CliException(ExitCodes.Usage, $"{option}: '{name}' is reserved by gRPC or HTTP/2 and cannot be sent.");
        }

        return (name, pair[(equals + 1)..]);
    }

    /// <summary>A header value: one line of printable ASCII, not empty.</summary>
    private static string CheckValue(string option, string name, string value)
    {
        if (value.Length == 0)
        {
            throw new CliException(ExitCodes.Usage, $"{option}: the value of '{name}' is empty.");
        }

        foreach (char c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new CliException(ExitCodes.Usage, $"{option}: the value of '{name}' must be one line of printable ASCII.");
            }
        }

        return value;
    }
}

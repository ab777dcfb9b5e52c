using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>Shared arguments, options and the error handling every command runs under.</summary>
internal static class CommandSupport
{
    public static Argument<Uri> NodeArgument(string description = "The node's gRPC address, e.g. http://127.0.0.1:5000.") => new("node")
    {
        Description = description,
        CustomParser = ParseAddress,
    };

    /// <summary>The engine's defaults (<see cref="SyncNodeOptions"/>), which the command line's defaults follow.</summary>
    public static SyncNodeOptions EngineDefaults => new();

    /// <summary><c>--timeout</c>: the deadline of each call; by default the engine's <see cref="SyncNodeOptions.PeerCallTimeout"/>.</summary>
    public static Option<Seconds> TimeoutOption() => new("--timeout")
    {
        Description = "Deadline of each call, in seconds.",
        HelpName = "seconds",
        DefaultValueFactory = _ => new Seconds(EngineDefaults.PeerCallTimeout),
        CustomParser = result => ParseSeconds(result, "--timeout"),
    };

    public static Uri ParseAddress(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!TryParseAddress(text, out Uri? uri))
        {
            result.AddError($"'{text}' is not an absolute http:// or https:// address such as http://127.0.0.1:5000.");
            return null!;
        }

        return uri!;
    }

    public static bool TryParseAddress(string text, out Uri? uri)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out Uri? parsed)
            && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps)
            && !string.IsNullOrEmpty(parsed.Host))
        {
            uri = parsed;
            return true;
        }

        uri = null;
        return false;
    }

    public static Seconds ParseSeconds(ArgumentResult result, string name)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds)
            || double.IsNaN(seconds) || seconds <= 0 || seconds > 86_400)
        {
            result.AddError($"{name} must be a number of seconds more than 0 and at most 86400; got '{text}'.");
            return default;
        }

        return new Seconds(TimeSpan.FromSeconds(seconds));
    }

    /// <summary><c>--token-file</c>: a file holding the shared bearer token (one line) that nodes require and send.</summary>
    public static Option<string?> TokenFileOption(string description = "File holding the bearer token the node requires (one line).") => new("--token-file")
    {
        Description = description,
        HelpName = "file",
    };

    /// <summary>
    /// The token in <paramref name="path"/> (trimmed, at least <see cref="BearerTokenAuthorizer.MinimumTokenBytes"/> bytes),
    /// or <see langword="null"/> without a path; a usage error when it cannot be read, is empty or is too short.
    /// </summary>
    public static string? ReadToken(string? path)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            return SecretFiles.ReadToken(path);
        }
        catch (InvalidDataException ex)
        {
            throw new CliException(ExitCodes.Usage, "--token-file: " + ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"--token-file: cannot read '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Refuses to send a secret (<paramref name="what"/>, given by <paramref name="option"/>) to <paramref name="address"/>
    /// in cleartext beyond this machine (a usage error): anyone on the path would read it.
    /// </summary>
    public static void CheckSecretTransport(Uri address, string option = "--token-file", string what = "the token")
    {
        if (!SecretFiles.MaySendToken(address))
        {
            throw new CliException(
                ExitCodes.Usage,
                $"{option}: {address.GetLeftPart(UriPartial.Authority)} is cleartext beyond this machine, where anyone on the path could read {what}; use an https:// address, or a loopback one (127.0.0.1, ::1, localhost).");
        }
    }

    /// <summary>Options of a peer that sends <paramref name="token"/> (when given) with every call.</summary>
    public static GrpcSyncPeerOptions PeerOptions(string? token, TimeSpan deadline)
    {
        var options = new GrpcSyncPeerOptions { Deadline = deadline };
        if (token is not null)
        {
            options.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(token);
        }

        return options;
    }


    /// <summary>
    /// Runs a command body, mapping failures to a message on standard error and a documented exit code. A failed call
    /// (exit 3) is reported in the words of <paramref name="explain"/> when it has any (a TLS handshake's certificate
    /// problem, say), else by its status and message.
    /// </summary>
    public static async Task<int> RunAsync(
        CliConsole console, CancellationToken cancellationToken, Func<CancellationToken, Task<int>> body, Func<SyncPeerException, string?>? explain = null)
    {
        try
        {
            return await body(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("interrupted").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (CliException ex)
        {
            await console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            // A setting the node's own validation refuses: the command line gave it, so it is a usage error.
            await console.Error.WriteLineAsync("error: " + string.Join(" ", ex.Failures)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (SyncPeerException ex)
        {
            await console.Error.WriteLineAsync("error: " + (explain?.Invoke(ex) ?? $"{ex.Code}: {ex.Message}")).ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        catch (IOException ex)
        {
            await console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.IOError;
        }
#pragma warning disable CA1031 // The command line's last resort: report any failure with a documented exit code.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await console.Error.WriteLineAsync("internal error: " + ex).ConfigureAwait(false);
            return ExitCodes.InternalError;
        }
    }
}

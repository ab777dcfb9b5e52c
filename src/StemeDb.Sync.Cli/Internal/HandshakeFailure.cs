using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Authentication;
using Grpc.Core;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// Names the certificate problem behind a failed call to an https:// node, which the TLS and HTTP/2 stacks report in
/// their own words ("the server did not complete the HTTP/2 handshake", "ObjectDisposedException: SslStream", "failed
/// with Internal"): the node refused this command's client certificate (or that it sent none), or this command does not
/// trust the node's certificate. A node refuses a client certificate in the handshake without saying why (with TLS 1.3
/// the client only sees the connection close); the node's log names the reason.
/// </summary>
internal static class HandshakeFailure
{
    /// <summary>
    /// The message for a call to <paramref name="address"/> that failed with <paramref name="exception"/>, or
    /// <see langword="null"/> when the failure is not a TLS handshake's (or the address is not https://).
    /// </summary>
    /// <param name="exception">The failed call.</param>
    /// <param name="address">The node called.</param>
    /// <param name="certificateFile">The client certificate presented (<c>--tls-cert</c>), if any.</param>
    public static string? Describe(SyncPeerException exception, Uri? address, string? certificateFile)
    {
        if (address is null || address.Scheme != Uri.UriSchemeHttps)
        {
            return null;
        }

        string node = address.GetLeftPart(UriPartial.Authority);
        bool refused = false;
        foreach (Exception cause in Causes(exception))
        {
            if (cause is AuthenticationException && cause.Message.Contains("remote certificate", StringComparison.OrdinalIgnoreCase))
            {
                return $"{node}: the node's TLS certificate is not trusted ({cause.Message.TrimEnd('.')}). Give the CA it chains to with --peer-ca, and an address the certificate names.";
            }

            refused |= cause switch
            {
                // TLS 1.3: the handshake completes on the client's side, then the node closes the connection.
                ObjectDisposedException disposed => disposed.ObjectName?.Contains("SslStream", StringComparison.Ordinal) == true,
                IOException io when io.Message.Contains("HTTP/2 handshake", StringComparison.Ordinal) => true,

                // TLS 1.2: the node's alert arrives during the handshake.
                AuthenticationException or IOException => cause.Message.Contains("alert", StringComparison.OrdinalIgnoreCase)
                    && cause.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase),
                _ => cause.Message.Contains("alert", StringComparison.OrdinalIgnoreCase)
                    && cause.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase),
            };
        }

        if (!refused)
        {
            return null;
        }

        return certificateFile is null
            ? $"{node}: the node refused the TLS handshake: it requires a client certificate (--tls-cert and --tls-key) that its CA trusts."
            : $"{node}: the node refused the TLS handshake with the client certificate '{certificateFile}': it takes one that chains to its client CA, lists the clientAuth extended key usage and, when it allows only some peers, names one of them. The node's log names the check that failed.";
    }

    /// <summary>The exception and everything behind it: inner exceptions, and the transport's exception behind a gRPC status.</summary>
    private static IEnumerable<Exception> Causes(Exception exception)
    {
        var pending = new Stack<Exception>();
        pending.Push(exception);
        for (int seen = 0; pending.Count > 0 && seen < 32; seen++)
        {
            Exception current = pending.Pop();
            yield return current;
            if (current is RpcException { Status.DebugException: { } debug })
            {
                pending.Push(debug);
            }

            if (current is AggregateException aggregate)
            {
                foreach (Exception inner in aggregate.InnerExceptions)
                {
                    pending.Push(inner);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}

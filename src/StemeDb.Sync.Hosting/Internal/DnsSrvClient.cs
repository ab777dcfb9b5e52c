using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>The resolver settings of <c>/etc/resolv.conf</c> that SRV lookups use.</summary>
/// <param name="Nameservers">The <c>nameserver</c> lines, in order, on port 53.</param>
/// <param name="Search">The last <c>search</c> (or <c>domain</c>) line's domains.</param>
/// <param name="Ndots">From <c>options ndots:N</c>; 1 by default.</param>
internal sealed record ResolverConfiguration(IReadOnlyList<IPEndPoint> Nameservers, IReadOnlyList<string> Search, int Ndots)
{
    public const string DefaultPath = "/etc/resolv.conf";

    /// <summary>Reads <paramref name="path"/>; throws <see cref="DnsException"/> when it cannot be read or names no nameserver.</summary>
    public static ResolverConfiguration Read(string path = DefaultPath)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DnsException($"SRV lookups read the nameservers from {path}, which cannot be read: {ex.Message}", ex);
        }

        ResolverConfiguration configuration = Parse(text);
        return configuration.Nameservers.Count > 0
            ? configuration
            : throw new DnsException($"SRV lookups need a 'nameserver' line in {path}; it has none.");
    }

    /// <summary>Parses the text of a resolv.conf: <c>nameserver</c>, <c>search</c>, <c>domain</c> and <c>options ndots:N</c>; other lines are ignored.</summary>
    public static ResolverConfiguration Parse(string text)
    {
        var nameservers = new List<IPEndPoint>();
        IReadOnlyList<string> search = [];
        int ndots = 1;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            int comment = line.IndexOfAny(['#', ';']);
            if (comment >= 0)
            {
                line = line[..comment];
            }

            string[] words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2)
            {
                continue;
            }

            switch (words[0])
            {
                case "nameserver" when IPAddress.TryParse(words[1], out IPAddress? address):
                    nameservers.Add(new IPEndPoint(address, 53));
                    break;
                case "search" or "domain":
                    search = [.. words.Skip(1).Select(d => d.TrimEnd('.')).Where(d => d.Length > 0)];
                    break;
                case "options":
                    foreach (string option in words.Skip(1))
                    {
                        if (option.StartsWith("ndots:", StringComparison.Ordinal)
                            && int.TryParse(option.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                        {
                            ndots = Math.Min(n, 15);
                        }
                    }

                    break;
            }
        }

        return new ResolverConfiguration(nameservers, search, ndots);
    }

    /// <summary>
    /// The names a lookup of <paramref name="name"/> tries, in order, like the system resolver: a name ending with a dot
    /// as it is; a name with at least <see cref="Ndots"/> dots first as it is, then with each search domain; another name
    /// first with each search domain, then as it is.
    /// </summary>
    public IReadOnlyList<string> Candidates(string name)
    {
        if (name.EndsWith('.'))
        {
            return [name[..^1]];
        }

        IEnumerable<string> searched = Search.Select(domain => name + "." + domain);
        return name.Count(c => c == '.') >= Ndots ? [name, .. searched] : [.. searched, name];
    }
}

/// <summary>
/// A small DNS client for SRV records (.NET has no SRV API): asks the nameservers in turn over UDP, again over TCP when
/// an answer is truncated, with a timeout per nameserver. Answers are read by <see cref="DnsMessage"/>.
/// </summary>
internal sealed class DnsSrvClient
{
    /// <summary>How long a nameserver has to answer before the next is asked.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly ResolverConfiguration _configuration;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    public DnsSrvClient(ResolverConfiguration configuration, TimeSpan timeout, TimeProvider time)
    {
        if (configuration.Nameservers.Count == 0)
        {
            throw new ArgumentException("At least one nameserver is needed.", nameof(configuration));
        }

        _configuration = configuration;
        _timeout = timeout;
        _time = time;
    }

    /// <summary>
    /// The SRV records of <paramref name="name"/> (after the search rules of <see cref="ResolverConfiguration.Candidates"/>:
    /// the first name tried that has SRV records). Empty when a name exists without SRV records; throws
    /// <see cref="DnsException"/> when no name tried exists, or no nameserver gave a valid answer.
    /// </summary>
    public async Task<SrvRecord[]> QueryAsync(string name, CancellationToken cancellationToken)
    {
        bool exists = false;
        foreach (string candidate in _configuration.Candidates(name))
        {
            DnsAnswer answer = await AskAsync(candidate, cancellationToken).ConfigureAwait(false);
            if (answer.ResponseCode == 0)
            {
                if (answer.Records.Count > 0)
                {
                    return [.. answer.Records];
                }

                exists = true;
            }
        }

        return exists ? [] : throw new DnsException($"The name '{name}' does not exist (NXDOMAIN).");
    }

    /// <summary>Asks the nameservers in turn until one answers <paramref name="name"/> with no error or NXDOMAIN.</summary>
    private async Task<DnsAnswer> AskAsync(string name, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (IPEndPoint server in _configuration.Nameservers)
        {
            ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 0x10000);
            byte[] query = DnsMessage.Query(id, name, DnsMessage.TypeSrv);
            using var timeout = new CancellationTokenSource(_timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            try
            {
                DnsAnswer answer = DnsMessage.ReadSrvAnswer(await UdpAsync(server, query, linked.Token).ConfigureAwait(false), id, name);
                if (answer.Truncated)
                {
                    answer = DnsMessage.ReadSrvAnswer(await TcpAsync(server, query, linked.Token).ConfigureAwait(false), id, name);
                    if (answer.Truncated)
                    {
                        throw new DnsException("The answer over TCP is truncated too.");
                    }
                }

                if (answer.ResponseCode is 0 or DnsMessage.ResponseNameError)
                {
                    return answer;
                }

                problems.Add($"{server}: response code {answer.ResponseCode}");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                problems.Add($"{server}: no answer within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
            }
            catch (Exception ex) when (ex is DnsException or SocketException or IOException)
            {
                problems.Add($"{server}: {ex.Message}");
            }
        }

        throw new DnsException($"No nameserver answered the SRV query for '{name}': {string.Join("; ", problems)}");
    }

    private static async Task<byte[]> UdpAsync(IPEndPoint server, byte[] query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false); // only the server's datagrams are received
        await socket.SendAsync(query, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[0x10000];
        int received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        return buffer[..received];
    }

    private static async Task<byte[]> TcpAsync(IPEndPoint server, byte[] query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        using var stream = new NetworkStream(socket, ownsSocket: false);
        var framed = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed, cancellationToken).ConfigureAwait(false);
        var prefix = new byte[2];
        await stream.ReadExactlyAsync(prefix, cancellationToken).ConfigureAwait(false);
        var answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await stream.ReadExactlyAsync(answer, cancellationToken).ConfigureAwait(false);
        return answer;
    }
}

using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>One SRV record (RFC 2782): a target host and port, with its priority and weight.</summary>
/// <param name="Priority">Lower is preferred; the records of the lowest priority are used.</param>
/// <param name="Weight">Relative weight within a priority (not used: every target of a priority becomes a peer).</param>
/// <param name="Port">The port of the service on the target.</param>
/// <param name="Target">The target host name, without a trailing dot; empty for the root name ".", which means the service is not offered.</param>
internal readonly record struct SrvRecord(ushort Priority, ushort Weight, ushort Port, string Target);

/// <summary>A DNS lookup failed: no nameserver answered in time, the name does not exist, or an answer is malformed.</summary>
internal sealed class DnsException : Exception
{
    public DnsException(string message)
        : base(message)
    {
    }

    public DnsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What a nameserver answered to an SRV query.</summary>
/// <param name="ResponseCode">The RCODE: 0 no error, 3 the name does not exist, others failures.</param>
/// <param name="Truncated">The TC bit: the answer did not fit and must be asked again over TCP (then no record is read).</param>
/// <param name="Records">The SRV records of the name asked for (or of the name its CNAME records lead to).</param>
internal sealed record DnsAnswer(int ResponseCode, bool Truncated, IReadOnlyList<SrvRecord> Records);

/// <summary>
/// The DNS wire format (RFC 1035 section 4) for SRV lookups: builds a query and reads an answer defensively. Every
/// count, length, offset and compression pointer is checked against the bytes really there; a compression pointer
/// must point before itself and a name may not exceed 255 bytes, so pointer loops end with an error. A malformed answer
/// throws <see cref="DnsException"/> naming what is wrong.
/// </summary>
internal static class DnsMessage
{
    public const ushort TypeCname = 5;
    public const ushort TypeSrv = 33;
    public const ushort ClassInternet = 1;
    public const int ResponseNameError = 3;
    public const int HeaderLength = 12;
    public const int MaxNameLength = 255;

    private const int MaxCnameHops = 8;
    private const int MaxPointerJumps = 128;

    /// <summary>A recursive query (RD set) for <paramref name="name"/> of the given type, class IN.</summary>
    public static byte[] Query(ushort id, string name, ushort type)
    {
        byte[] encodedName = EncodeName(name);
        var query = new byte[HeaderLength + encodedName.Length + 4];
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(0), id);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(2), 0x0100); // RD: recursion desired
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(4), 1); // QDCOUNT
        encodedName.CopyTo(query.AsSpan(HeaderLength));
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(HeaderLength + encodedName.Length), type);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(HeaderLength + encodedName.Length + 2), ClassInternet);
        return query;
    }

    /// <summary>A name in wire format: length-prefixed labels ending with the root label.</summary>
    public static byte[] EncodeName(string name)
    {
        string trimmed = name.EndsWith('.') ? name[..^1] : name;
        var bytes = new List<byte>(trimmed.Length + 2);
        if (trimmed.Length > 0)
        {
            foreach (string label in trimmed.Split('.'))
            {
                if (label.Length is 0 or > 63)
                {
                    throw new DnsException($"'{name}' is not a DNS name: a label is empty or longer than 63 characters.");
                }

                bytes.Add((byte)label.Length);
                foreach (char c in label)
                {
                    if (c is <= ' ' or > '~')
                    {
                        throw new DnsException($"'{name}' is not a DNS name: it holds a character that is not printable ASCII.");
                    }

                    bytes.Add((byte)c);
                }
            }
        }

        bytes.Add(0);
        if (bytes.Count > MaxNameLength)
        {
            throw new DnsException($"'{name}' is longer than the 255 bytes a DNS name may take.");
        }

        return [.. bytes];
    }

    /// <summary>
    /// Reads the answer to the SRV query <paramref name="id"/> for <paramref name="name"/>: checks the header (the ID, a
    /// response, a standard query), the question (exactly the name, type SRV, class IN) and every answer record, and
    /// returns the SRV records of the name (following CNAME records in the answer). Authority and additional records are
    /// not read. Throws <see cref="DnsException"/> when the answer is malformed or does not answer this query.
    /// </summary>
    public static DnsAnswer ReadSrvAnswer(ReadOnlySpan<byte> message, ushort id, string name)
    {
        string asked = name.TrimEnd('.');
        if (message.Length < HeaderLength)
        {
            throw new DnsException($"The answer is {message.Length} bytes, shorter than the 12-byte DNS header.");
        }

        ushort answerId = BinaryPrimitives.ReadUInt16BigEndian(message);
        if (answerId != id)
        {
            throw new DnsException($"The answer's ID {answerId} is not the query's ID {id}.");
        }

        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & 0x8000) == 0)
        {
            throw new DnsException("The answer is a query, not a response (QR bit clear).");
        }

        if (((flags >> 11) & 0xF) != 0)
        {
            throw new DnsException($"The answer's opcode is {(flags >> 11) & 0xF}, not 0 (a standard query).");
        }

        bool truncated = (flags & 0x0200) != 0;
        int responseCode = flags & 0xF;
        int questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        if (truncated)
        {
            // The rest may be cut anywhere: asked again over TCP.
            return new DnsAnswer(responseCode, true, []);
        }

        if (questions != 1 && !(questions == 0 && responseCode != 0))
        {
            throw new DnsException($"The answer holds {questions} questions, not the 1 asked.");
        }

        int offset = HeaderLength;
        if (questions == 1)
        {
            string question = ReadName(message, ref offset, message.Length, "the question");
            if (!string.Equals(question, asked, StringComparison.OrdinalIgnoreCase))
            {
                throw new DnsException($"The answer's question is '{question}', not '{asked}'.");
            }

            if (offset + 4 > message.Length)
            {
                throw new DnsException($"The answer ends at byte {message.Length}, inside the question's type and class.");
            }

            ushort type = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            ushort @class = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            if (type != TypeSrv || @class != ClassInternet)
            {
                throw new DnsException($"The answer's question is of type {type} class {@class}, not SRV (33) class IN (1).");
            }

            offset += 4;
        }

        if (responseCode != 0)
        {
            return new DnsAnswer(responseCode, false, []);
        }

        var cnames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var records = new List<(string Owner, SrvRecord Record)>();
        for (int i = 0; i < answers; i++)
        {
            string what = $"answer record {i + 1} of {answers}";
            string owner = ReadName(message, ref offset, message.Length, what);
            if (offset + 10 > message.Length)
            {
                throw new DnsException($"The answer ends at byte {message.Length}, inside the fixed fields of {what}.");
            }

            ushort type = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            ushort @class = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            int dataLength = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
            offset += 10;
            int dataEnd = offset + dataLength;
            if (dataEnd > message.Length)
            {
                throw new DnsException($"The data of {what} claims {dataLength} bytes, but only {message.Length - offset} remain.");
            }

            if (@class == ClassInternet && type == TypeSrv)
            {
                if (dataLength < 7)
                {
                    throw new DnsException($"The SRV data of {what} is {dataLength} bytes, shorter than priority, weight, port and a target name.");
                }

                ushort priority = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
                ushort weight = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
                ushort port = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 4)..]);
                int targetOffset = offset + 6;
                string target = ReadName(message, ref targetOffset, dataEnd, $"the target of {what}");
                if (targetOffset != dataEnd)
                {
                    throw new DnsException($"The SRV data of {what} holds {dataEnd - targetOffset} bytes after its target name.");
                }

                if (target.Length > 0 && Uri.CheckHostName(target) != UriHostNameType.Dns)
                {
                    throw new DnsException($"The target '{target}' of {what} is not a host name.");
                }

                records.Add((owner, new SrvRecord(priority, weight, port, target)));
            }
            else if (@class == ClassInternet && type == TypeCname)
            {
                int targetOffset = offset;
                string target = ReadName(message, ref targetOffset, dataEnd, $"the CNAME target of {what}");
                if (targetOffset != dataEnd)
                {
                    throw new DnsException($"The CNAME data of {what} holds {dataEnd - targetOffset} bytes after its name.");
                }

                cnames[owner] = target;
            }

            offset = dataEnd;
        }

        // The records of the name asked for, or of the name its aliases lead to (a bounded chain: no alias loop).
        var owners = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { asked };
        string current = asked;
        for (int hop = 0; hop < MaxCnameHops && cnames.TryGetValue(current, out string? alias) && owners.Add(alias); hop++)
        {
            current = alias;
        }

        var found = new List<SrvRecord>();
        foreach ((string owner, SrvRecord record) in records)
        {
            if (owners.Contains(owner))
            {
                found.Add(record);
            }
        }

        return new DnsAnswer(0, false, found);
    }

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="offset"/>, whose bytes before any pointer must end before
    /// <paramref name="end"/>; moves <paramref name="offset"/> past the name as it is written there. Returns the name
    /// without a trailing dot ("" for the root).
    /// </summary>
    public static string ReadName(ReadOnlySpan<byte> message, ref int offset, int end, string what)
    {
        var name = new StringBuilder();
        int position = offset;
        int limit = end;
        int length = 1; // the root label
        int jumps = 0;
        bool jumped = false;
        while (true)
        {
            if (position >= limit)
            {
                throw new DnsException($"The name in {what} runs past byte {limit}.");
            }

            byte head = message[position];
            switch (head & 0xC0)
            {
                case 0x00 when head == 0:
                    if (!jumped)
                    {
                        offset = position + 1;
                    }

                    return name.ToString();

                case 0x00:
                    if (position + 1 + head > limit)
                    {
                        throw new DnsException($"A label of {head} bytes at byte {position} in {what} runs past byte {limit}.");
                    }

                    length += 1 + head;
                    if (length > MaxNameLength)
                    {
                        throw new DnsException($"The name in {what} is longer than 255 bytes.");
                    }

                    if (name.Length > 0)
                    {
                        name.Append('.');
                    }

                    foreach (byte b in message.Slice(position + 1, head))
                    {
                        if (b is <= (byte)' ' or > (byte)'~' or (byte)'.')
                        {
                            throw new DnsException($"A label at byte {position} in {what} holds the byte 0x{b:x2}, which is not allowed in a host name.");
                        }

                        name.Append((char)b);
                    }

                    position += 1 + head;
                    break;

                case 0xC0:
                    if (position + 2 > limit)
                    {
                        throw new DnsException($"A compression pointer at byte {position} in {what} runs past byte {limit}.");
                    }

                    int target = ((head & 0x3F) << 8) | message[position + 1];
                    if (target >= position || target < HeaderLength)
                    {
                        throw new DnsException($"A compression pointer at byte {position} in {what} points to byte {target}, not to an earlier name before itself (a loop, a forward reference or the header).");
                    }

                    if (++jumps > MaxPointerJumps)
                    {
                        throw new DnsException($"The name in {what} follows more than {MaxPointerJumps} compression pointers (a loop).");
                    }

                    if (!jumped)
                    {
                        offset = position + 2;
                        jumped = true;
                    }

                    position = target;
                    limit = message.Length;
                    break;

                default:
                    throw new DnsException($"The label type 0x{head & 0xC0:x2} at byte {position} in {what} is neither a label length nor a compression pointer.");
            }
        }
    }
}
